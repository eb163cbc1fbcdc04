import { STEPS_PER_SAGA } from "../lib/point.js";
import { databaseUrl as urlOf, type Counters, type PgAdmin } from "../lib/pgadmin.js";
import { Child, type ChildOptions } from "../lib/spawn.js";
import type { EngineName, PointResult, Workload } from "../lib/types.js";

/** A point as the report keeps it: the child's measurements plus the server-side counters. */
export interface PointRecord {
  engine: EngineName;
  workload: Workload;
  concurrency: number;
  rep: number;
  label?: string;
  result: PointResult | null;
  error: string | null;
  /**
   * pg_stat_database.xact_commit delta of the engine's database between the window's edges as
   * the statistics system had them then (busy backends report about once a second: blurred).
   */
  commits: number | null;
  /** pg_stat_wal.wal_sync delta (cluster-wide) between the window's edges (blurred alike). */
  walSyncs: number | null;
  walBytes: number | null;
  /** The same over the child's whole life (start-up, warm-up, drain and shutdown included). */
  life: Counters | null;
  /** The store's counts by status before the run, when the database was not empty. */
  storeBaseline?: Record<string, number>;
}

export interface PointOptions {
  engine: EngineName;
  workload: Workload;
  concurrency: number;
  rep: number;
  warmupMs: number;
  measureMs: number;
  /** Database name; recreated empty unless `keepDb`. */
  db: string;
  keepDb?: boolean;
  label?: string;
  child?: ChildOptions;
  captureCommitTo?: string;
  cpuProfileTo?: string;
}

const USES_PG: Record<EngineName, boolean> = {
  "ours-pg": true,
  "ours-pglite": false,
  dbos: true,
  restate: false,
  "raw-naive": true,
  "raw-group": true,
};

/** Runs one point in a fresh child process and reads the database's counters around it. */
export async function measurePoint(admin: PgAdmin, o: PointOptions): Promise<PointRecord> {
  const record: PointRecord = {
    engine: o.engine,
    workload: o.workload,
    concurrency: o.concurrency,
    rep: o.rep,
    ...(o.label ? { label: o.label } : {}),
    result: null,
    error: null,
    commits: null,
    walSyncs: null,
    walBytes: null,
    life: null,
  };
  const tag = `${o.label ?? o.workload} ${o.engine} c=${o.concurrency} rep ${o.rep}`;
  try {
    const databaseUrl = o.keepDb ? urlOf(o.db) : await admin.recreate(o.db);
    const pgStats = USES_PG[o.engine];
    const before = pgStats ? await admin.counters(o.db) : null;
    const edges: Partial<Record<"start" | "end", Promise<Counters>>> = {};
    const onEdge = (edge: "start" | "end") => {
      if (pgStats) edges[edge] ??= admin.counters(o.db);
    };
    const child = new Child(
      {
        kind: "point",
        point: {
          engine: o.engine,
          workload: o.workload,
          concurrency: o.concurrency,
          warmupMs: o.warmupMs,
          measureMs: o.measureMs,
          databaseUrl,
          ...(o.captureCommitTo ? { captureCommitTo: o.captureCommitTo } : {}),
          ...(o.cpuProfileTo ? { cpuProfileTo: o.cpuProfileTo } : {}),
        },
      },
      { ...o.child, onEdge, isolateNetwork: o.engine === "restate" || o.child?.isolateNetwork },
    );
    const message = await child.next(o.warmupMs + o.measureMs + 10 * 60_000);
    await child.stop();
    if (message.type !== "result") throw new Error(`unexpected message ${message.type}`);
    record.result = message.result;
    if (before && edges.start && edges.end) {
      const [from, to] = await Promise.all([edges.start, edges.end]);
      record.commits = to.commits - from.commits;
      record.walSyncs = to.walSyncs - from.walSyncs;
      record.walBytes = to.walBytes - from.walBytes;
      const after = await admin.countersAfterExit(o.db);
      record.life = {
        commits: after.commits - before.commits,
        walSyncs: after.walSyncs - before.walSyncs,
        walBytes: after.walBytes - before.walBytes,
      };
    }
    const r = message.result;
    console.log(
      `[bench] ${tag}: ${r.sagasPerSec.toFixed(0)} sagas/s, p50 ${r.latency.p50.toFixed(2)} ms, p99 ${r.latency.p99.toFixed(2)} ms` +
        (record.commits !== null
          ? `, ${(record.commits / Math.max(1, r.completedInWindow)).toFixed(2)} commits/saga`
          : "") +
        (r.failed || r.stuck || r.duplicateSteps
          ? `, FAILED ${r.failed} STUCK ${r.stuck} DUP ${r.duplicateSteps}`
          : ""),
    );
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
    console.log(`[bench] ${tag}: ERROR ${record.error.split("\n")[0]}`);
  }
  return record;
}

/** Per-step and per-saga figures derived from a record (null when not measured). */
export function derived(r: PointRecord): {
  commitsPerSaga: number | null;
  commitsPerStep: number | null;
  walSyncsPerSaga: number | null;
  walKbPerSaga: number | null;
  roundTripsPerStep: number | null;
} {
  const res = r.result;
  if (!res || res.completedTotal === 0 || res.completedInWindow === 0)
    return {
      commitsPerSaga: null,
      commitsPerStep: null,
      walSyncsPerSaga: null,
      walKbPerSaga: null,
      roundTripsPerStep: null,
    };
  const perStep = STEPS_PER_SAGA[r.workload];
  // Commits and WAL syncs: the exact deltas over the child's whole life ÷ every saga it finished.
  const all = res.completedTotal;
  return {
    commitsPerSaga: r.life === null ? null : r.life.commits / all,
    commitsPerStep: r.life === null ? null : r.life.commits / (all * perStep),
    walSyncsPerSaga: r.life === null ? null : r.life.walSyncs / all,
    walKbPerSaga: r.life === null ? null : r.life.walBytes / 1024 / all,
    // Round trips: counted in-process between the window's edges ÷ the window's sagas.
    roundTripsPerStep:
      res.roundTrips === null ? null : res.roundTrips / (res.completedInWindow * perStep),
  };
}
