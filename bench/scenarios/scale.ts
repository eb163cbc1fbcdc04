import { queryOnce, toCounts } from "../engines/engine.js";
import type { Counters, PgAdmin } from "../lib/pgadmin.js";
import { Child } from "../lib/spawn.js";
import { distribution } from "../lib/stats.js";
import type { Dist, PointResult } from "../lib/types.js";

/**
 * One point of the scale scenario: `processes` processes on one PostgreSQL database, each a closed
 * loop of saga3 with its own orchestrator (as `createOrchestrator` makes it: it runs the sagas it
 * starts and claims due work), the total in flight split evenly between them.
 */
export interface ScaleRecord {
  processes: number;
  /** Sagas in flight over all processes. */
  inFlight: number;
  rep: number;
  /** Sagas ended in the window, all processes, ÷ the mean window length. */
  sagasPerSec: number | null;
  /** Each process's sagas/s (how evenly the work was shared). */
  perProcessSagasPerSec: number[];
  /** Latencies of every process's window, merged. */
  latency: Dist | null;
  /** node CPU of all processes over their windows ÷ sagas of the windows × 1000. */
  nodeCpuSecPer1000: number | null;
  /** Peak RSS of the largest process. */
  peakRssMb: number | null;
  /** CPU of the database's PostgreSQL processes (and the shared auxiliary ones), in cores. */
  pgCores: number | null;
  /** pg_stat_database.xact_commit of the database between the first window start and the last window end, per second (blurred like every edge delta: backends report about once a second). */
  commitsPerSec: number | null;
  /** pg_stat_wal (cluster-wide) over the same edges, per second. */
  walMbPerSec: number | null;
  walSyncsPerSec: number | null;
  /** Exact: commits over the processes' whole lives ÷ every saga they finished. */
  commitsPerSaga: number | null;
  /** Busy CPU of the machine not spent by these processes or PostgreSQL, in cores. */
  otherCores: number | null;
  storeCounts: Record<string, number> | null;
  check: string;
  error: string | null;
}

export interface ScaleOptions {
  processes: number[];
  inFlight: number;
  reps: number;
  warmupMs: number;
  measureMs: number;
}

const DB = "bench_scale";

/** Every point of the scale scenario, each on a fresh database. */
export async function scaleScenario(admin: PgAdmin, o: ScaleOptions): Promise<ScaleRecord[]> {
  const records: ScaleRecord[] = [];
  for (const processes of o.processes)
    for (let rep = 1; rep <= o.reps; rep++) {
      records.push(await scalePoint(admin, { ...o, processes, rep }));
      await admin.drop(DB);
    }
  return records;
}

async function scalePoint(
  admin: PgAdmin,
  o: Omit<ScaleOptions, "processes"> & { processes: number; rep: number },
): Promise<ScaleRecord> {
  const record: ScaleRecord = {
    processes: o.processes,
    inFlight: o.inFlight,
    rep: o.rep,
    sagasPerSec: null,
    perProcessSagasPerSec: [],
    latency: null,
    nodeCpuSecPer1000: null,
    peakRssMb: null,
    pgCores: null,
    commitsPerSec: null,
    walMbPerSec: null,
    walSyncsPerSec: null,
    commitsPerSaga: null,
    otherCores: null,
    storeCounts: null,
    check: "",
    error: null,
  };
  const tag = `scale ${o.processes} process(es) × ${o.inFlight / o.processes} in flight rep ${o.rep}`;
  const children: Child[] = [];
  try {
    const databaseUrl = await admin.recreate(DB);
    const before = await admin.counters(DB);
    // The window's counters: at the first process's start edge and the last one's end edge.
    let starts = 0;
    let ends = 0;
    const edges: { start?: Promise<[Counters, number]>; end?: Promise<[Counters, number]> } = {};
    const read = async (): Promise<[Counters, number]> => [
      await admin.counters(DB),
      performance.now(),
    ];
    const onEdge = (edge: "start" | "end") => {
      if (edge === "start" && starts++ === 0) edges.start = read();
      if (edge === "end" && ++ends === o.processes) edges.end = read();
    };
    for (let i = 0; i < o.processes; i++)
      children.push(
        new Child(
          {
            kind: "point",
            point: {
              engine: "ours-pg",
              workload: "saga3",
              concurrency: o.inFlight / o.processes,
              warmupMs: o.warmupMs,
              measureMs: o.measureMs,
              databaseUrl,
              shared: true,
            },
          },
          { onEdge },
        ),
      );
    // Every orchestrator is up (the first migrates, the others wait for its lock): all go at once.
    for (const child of children) {
      const ready = await child.next(120_000);
      if (ready.type !== "ready") throw new Error(`unexpected message ${ready.type}`);
    }
    for (const child of children) child.proc.send("go");
    const results: PointResult[] = [];
    for (const child of children) {
      const message = await child.next(o.warmupMs + o.measureMs + 10 * 60_000);
      if (message.type !== "result") throw new Error(`unexpected message ${message.type}`);
      results.push(message.result);
    }
    await Promise.all(children.map((c) => c.stop()));
    const after = await admin.countersAfterExit(DB);
    record.storeCounts = toCounts(
      await queryOnce<{ label: string; n: string }>(
        databaseUrl,
        "SELECT status AS label, count(*) AS n FROM saga_instances GROUP BY status",
      ),
    );
    summarise(record, results);
    if (edges.start && edges.end) {
      const [[from, t0], [to, t1]] = await Promise.all([edges.start, edges.end]);
      const sec = (t1 - t0) / 1000;
      record.commitsPerSec = (to.commits - from.commits) / sec;
      record.walMbPerSec = (to.walBytes - from.walBytes) / 1024 / 1024 / sec;
      record.walSyncsPerSec = (to.walSyncs - from.walSyncs) / sec;
    }
    const finished = results.reduce((n, r) => n + r.completedTotal, 0);
    if (finished > 0) record.commitsPerSaga = (after.commits - before.commits) / finished;
    record.check = checkOf(record, results);
    console.log(
      `[bench] ${tag}: ${record.sagasPerSec?.toFixed(0)} sagas/s (${record.perProcessSagasPerSec.map((v) => v.toFixed(0)).join(" + ")}), ` +
        `p50 ${record.latency?.p50.toFixed(2)} ms, p99 ${record.latency?.p99.toFixed(2)} ms, max ${record.latency?.max.toFixed(0)} ms, ` +
        `PG ${record.pgCores?.toFixed(2)} cores, ${record.commitsPerSec?.toFixed(0)} commits/s, ${record.check}`,
    );
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
    record.check = `error: ${record.error.split("\n")[0]}`;
    console.log(`[bench] ${tag}: ERROR ${record.error.split("\n")[0]}`);
    for (const child of children) child.proc.kill("SIGKILL");
    await Promise.all(children.map((c) => c.stop(5_000)));
  }
  return record;
}

/** Merges the processes' results: sums of work and CPU, merged latencies, the store's CPU once. */
function summarise(record: ScaleRecord, results: PointResult[]): void {
  const windowSec = results.reduce((s, r) => s + r.windowSec, 0) / results.length;
  const inWindow = results.reduce((n, r) => n + r.completedInWindow, 0);
  const nodeCpu = results.reduce((s, r) => s + r.nodeCpuSec, 0);
  record.sagasPerSec = inWindow / windowSec;
  record.perProcessSagasPerSec = results.map((r) => r.sagasPerSec);
  record.latency = distribution(results.flatMap((r) => r.latencies ?? []));
  record.nodeCpuSecPer1000 = inWindow > 0 ? (nodeCpu / inWindow) * 1000 : null;
  record.peakRssMb = Math.max(...results.map((r) => r.peakRssMb));
  // Each process read the same PostgreSQL processes over (almost) the same window: their mean.
  const pg = results.map((r) => r.storeCpuCores).filter((v): v is number => v !== null);
  record.pgCores = pg.length > 0 ? pg.reduce((a, b) => a + b, 0) / pg.length : null;
  const machine = results.reduce((s, r) => s + r.machineBusyCores, 0) / results.length;
  record.otherCores = machine - nodeCpu / windowSec - (record.pgCores ?? 0);
}

/** "ok", or failed/stuck sagas, duplicate steps seen by a process, or a store mismatch. */
function checkOf(record: ScaleRecord, results: PointResult[]): string {
  const issues: string[] = [];
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const stuck = results.reduce((n, r) => n + r.stuck, 0);
  const duplicates = results.reduce((n, r) => n + r.duplicateSteps, 0);
  if (failed) issues.push(`${failed} failed (${results.find((r) => r.firstError)?.firstError})`);
  if (stuck) issues.push(`${stuck} unfinished after 60 s`);
  if (duplicates) issues.push(`${duplicates} duplicate step runs`);
  const finished = results.reduce((n, r) => n + r.completedTotal, 0);
  for (const [status, n] of Object.entries(record.storeCounts ?? {}))
    if (status !== "completed" && n > 0) issues.push(`store: ${n} ${status}`);
  const stored = record.storeCounts?.completed ?? 0;
  if (stored !== finished) issues.push(`store has ${stored} completed, clients saw ${finished}`);
  return issues.length === 0 ? "ok" : issues.join("; ");
}
