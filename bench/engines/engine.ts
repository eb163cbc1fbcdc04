import pg from "pg";
import type { StepProbe } from "../lib/probe.js";
import { postgresCpuSecFor } from "../lib/proc.js";
import type { PointSpec } from "../lib/types.js";

export interface EngineContext {
  spec: PointSpec;
  probe: StepProbe;
  /** Things the report should say about this engine's run (settings, caveats). */
  notes: string[];
}

/** One engine, started in this (child) process and ready to run sagas. */
export interface RunningEngine {
  /** Runs one saga to its end; throws when it ends otherwise than the workload expects. */
  runOne(key: number): Promise<void>;
  /** Cumulative CPU seconds of the store's server processes (null: the store is in-process). */
  storeCpuSec(): number | null;
  readonly storeLabel: string;
  /** The store's own count of sagas by outcome, read after the drain. */
  counts(): Promise<Record<string, number> | null>;
  close(): Promise<void>;
}

export type EngineFactory = (ctx: EngineContext) => Promise<RunningEngine>;

/** The result every bench step returns: a small JSON object. */
export function stepResult(step: number): { step: number; ok: true; at: number } {
  return { step, ok: true, at: Date.now() };
}

/** CPU seconds so far of the PostgreSQL processes serving this database (see postgresCpuSecFor). */
export function postgresCpu(databaseUrl: string): () => number {
  const db = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  return () => postgresCpuSecFor(db);
}

/** Runs one query on a short-lived connection (store-side counts after a run). */
export async function queryOnce<Row>(databaseUrl: string, text: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(text)).rows as Row[];
  } finally {
    await client.end();
  }
}

/** `SELECT <label>, count(*) … GROUP BY 1` rows as a record. */
export function toCounts(rows: { label: string; n: string | number }[]): Record<string, number> {
  return Object.fromEntries(rows.map((r) => [r.label, Number(r.n)]));
}
