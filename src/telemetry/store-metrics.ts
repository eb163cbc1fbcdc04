import { Gauge, Histogram, type Registry } from "prom-client";
import type { Commit, CommitResult } from "../engine/store-port.js";
import { scrapeGauge } from "./scrape-gauge.js";

/** The connection pool of a PostgreSQL store (none for PGlite: one connection in process). */
export type PoolStatsReader = () => { size: number; idle: number; waiting: number } | null;

/** Steps suspended on an event, by saga type, fleet-wide. */
export type WaitingReader = () => Promise<{ name: string; count: number }[]>;

/**
 * Store health: commit batch size and latency (this process), pool use (this process) and
 * waiting sagas (fleet-wide, read from the store at scrape time: aggregate with max).
 */
export class StoreMetrics {
  readonly commitBatchSize: Histogram;
  readonly commitSeconds: Histogram<"outcome">;

  constructor(
    registry: Registry,
    readers: { pool?: PoolStatsReader; waiting?: WaitingReader } = {},
  ) {
    this.commitBatchSize = new Histogram({
      name: "saga_store_commit_batch_size",
      help: "Saga checkpoints written per commit statement (group commit).",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers: [registry],
    });
    this.commitSeconds = new Histogram({
      name: "saga_store_commit_seconds",
      help: "Time of one group commit, by outcome (ok, error).",
      labelNames: ["outcome"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    const pool = readers.pool;
    if (pool) {
      new Gauge({
        name: "saga_store_pool_connections",
        help: "Database connections of this process's pool, by state (in_use, idle).",
        labelNames: ["state"],
        registers: [registry],
        collect() {
          const stats = pool();
          if (!stats) return;
          this.set({ state: "in_use" }, stats.size - stats.idle);
          this.set({ state: "idle" }, stats.idle);
        },
      });
      new Gauge({
        name: "saga_store_pool_waiting",
        help: "Queries of this process waiting for a free pool connection.",
        registers: [registry],
        collect() {
          const stats = pool();
          if (stats) this.set(stats.waiting);
        },
      });
    }
    const waiting = readers.waiting;
    if (waiting) {
      scrapeGauge(registry, waiting, {
        name: "saga_waiting_current",
        help: "Sagas with a step waiting for an event, fleet-wide (aggregate with max).",
        labelNames: ["saga_type"],
        values: (rows) => rows.map(({ name, count }) => [{ saga_type: name }, count]),
      });
    }
  }

  /**
   * The store with its `commit` timed: a proxy, so that everything else (instanceof, other
   * methods) stays the store's own.
   */
  instrument<S extends { commit(batch: readonly Commit[]): Promise<CommitResult[]> }>(store: S): S {
    const commit = store.commit.bind(store);
    const timed = async (batch: readonly Commit[]): Promise<CommitResult[]> => {
      const began = performance.now();
      let outcome = "error";
      try {
        const results = await commit(batch);
        outcome = "ok";
        return results;
      } finally {
        this.commitSeconds.observe({ outcome }, (performance.now() - began) / 1000);
        this.commitBatchSize.observe(batch.length);
      }
    };
    return new Proxy(store, {
      get(target, property) {
        if (property === "commit") return timed;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function"
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  }
}
