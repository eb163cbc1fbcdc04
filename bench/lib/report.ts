import type { HistoryRecord } from "../scenarios/history.js";
import type { HttpRecord } from "../scenarios/http.js";
import type { PointRecord } from "../scenarios/points.js";
import type { ProfileRecord } from "../scenarios/profile.js";
import type { ScaleRecord } from "../scenarios/scale.js";
import type { Store1mRecord } from "../scenarios/store1m.js";
import type { TimersRecord } from "../scenarios/timers.js";
import { aggregate, type Aggregate } from "./aggregate.js";
import { num, table } from "./format.js";
import { POINT_HEADER, pointRows } from "./report-points.js";
import { extrasSections, targetsSection } from "./report-extras.js";
import { scaleSection } from "./report-scale.js";
import { round2TargetsSection } from "./report-targets16.js";

export interface Report {
  startedAt: string;
  finishedAt: string;
  commit: string;
  settings: {
    seconds: number;
    warmupSec: number;
    reps: number;
    concurrency: number[];
    engines: string[];
    history: boolean;
  };
  machine: Record<string, string>;
  pgSettings: Record<string, string>;
  versions: Record<string, string>;
  restateDurability: string[];
  saga3: PointRecord[];
  /** Absent in reports written before the scale scenario existed. */
  scale?: ScaleRecord[];
  compensate: PointRecord[];
  timers: TimersRecord | null;
  http: HttpRecord[];
  history: HistoryRecord | null;
  /** Absent in reports made before store-1m existed. */
  store1m?: Store1mRecord | null;
  profile: ProfileRecord[];
  /** http-start on PostgreSQL with the service under the CPU profiler (absent in older reports). */
  httpProfile?: HttpRecord | null;
  failures: string[];
}

/** Sorted by concurrency, then by the engine order of the run. */
function ordered(aggs: Aggregate[], engines: string[]): Aggregate[] {
  return [...aggs].sort(
    (a, b) =>
      a.concurrency - b.concurrency || engines.indexOf(a.engine) - engines.indexOf(b.engine),
  );
}

export function renderReport(r: Report): string {
  const saga3 = ordered(aggregate(r.saga3), r.settings.engines);
  const out: string[] = [];
  out.push(`# Benchmark: saga3 and friends — ${r.startedAt.slice(0, 10)}, commit ${r.commit}`);
  out.push(
    `Run from ${r.startedAt} to ${r.finishedAt} with \`npm run bench\` ` +
      `(BENCH_SECONDS=${r.settings.seconds}, warm-up ${r.settings.warmupSec} s excluded, ` +
      `BENCH_REPS=${r.settings.reps}, in flight ${r.settings.concurrency.join(", ")}` +
      `${r.settings.history ? ", BENCH_HISTORY=1" : ""}). Every figure below was measured in this run.`,
  );
  const others = [...r.saga3, ...r.compensate]
    .map((p) => p.result?.otherCores)
    .filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  const meanOther = others.reduce((a, b) => a + b, 0) / Math.max(1, others.length);
  if (meanOther > 0.2)
    out.push(
      `> **The machine was not idle during this run**: other processes used ${num(meanOther, 2)} of the 2 cores on average during the measured windows (up to ${num(Math.max(...others), 2)}; column "other load"). Every engine ran under the same kind of interference, but the absolute figures are pessimistic and the repetitions differ more than they would on an idle machine.`,
    );
  out.push("## Machine");
  out.push(
    table(
      ["", ""],
      Object.entries({ ...r.machine, ...r.versions }).map(([k, v]) => [k, v]),
    ),
  );
  out.push(
    "PostgreSQL settings (every engine on PostgreSQL uses this server, each in its own database, dropped and recreated for each point):",
  );
  out.push(table(["setting", "value"], Object.entries(r.pgSettings)));
  out.push("## What is measured");
  out.push(
    [
      "- **Workload `saga3`**: 3 sequential no-op steps, each returning a small JSON object, each outcome checkpointed durably before the next step starts. A closed loop keeps N sagas in flight (a new one starts when one ends) for the warm-up, then for the measured window; the sagas still in flight at the end are drained (not counted in the window, counted in the totals).",
      "- **sagas/s**: sagas that ended inside the window / window length. **Latency**: start call to result, for those sagas.",
      "- **Dispatch overhead**: time from one step function's return to the next step function's invocation, as the step functions see it (`performance.now()` in the steps, same process) — the checkpoint of the outcome plus everything the engine does between two steps. Gaps ending inside the window.",
      "- **node CPU**: `process.cpuUsage()` of the engine's process over the window ÷ sagas in the window (includes the load generator and, for PGlite, the database). **Peak RSS**: highest RSS of that process (sampled every 100 ms, and the kernel's maxRSS). **Max timer lag**: the longest lateness of a 100 ms interval timer in that process — how long its event loop went without running timers (heartbeats, lease renewals, HTTP) under this load.",
      "- **store CPU**: utime+stime over /proc of the `postgres` processes during the window ÷ window length, in cores (2 = the whole machine): the postmaster and its auxiliary processes (WAL writer, checkpointer…) plus the backends and autovacuum workers of the engine's database (told apart by process title), not backends of other databases; for Restate, the `restate-server` process.",
      "- **other load**: busy CPU of the whole machine (/proc/stat) during the window minus the engine's process and its store: work of other processes on this machine. Anything well above 0 means the point shared the 2 cores with something else, and its figures are pessimistic.",
      "- **commits**: `pg_stat_database.xact_commit` delta of the engine's own database over the child's whole life (read before it starts and after its sessions have closed, so it is exact: start-up, migrations, warm-up, window and drain) ÷ every saga it finished (÷ 3 for per step; ÷ 5 step runs for saga3-compensate). Read-only transactions count too. (A delta between the window's edges is in the JSON as `commits`; it is blurred, because a busy backend reports its counters only about once a second.) **WAL syncs**: `pg_stat_wal.wal_sync` delta over the same life ÷ sagas — the fsyncs actually paid; cluster-wide, so other users of the server add to it (see other load). **WAL KB**: `pg_stat_wal.wal_bytes` over the same life ÷ sagas (cluster-wide alike).",
      "- **round trips**: `pg` `Client#query` calls of the engine's process in the window (every pg-based engine, DBOS included; one call = one request/response exchange) ÷ steps of the sagas that ended in it. Not counted for PGlite (in-process) and Restate (no PostgreSQL).",
      "- **check**: no failed saga, none unfinished 60 s after the load stopped, no step run twice, and the store's own count of finished sagas equals what the client saw.",
    ].join("\n"),
  );
  out.push("## saga3");
  out.push(table(POINT_HEADER, pointRows(saga3)));
  out.push(ratios(saga3));
  out.push(...targetsSection(r, saga3));
  out.push(...round2TargetsSection(r, saga3));
  out.push(...scaleSection(r.scale));
  out.push(...extrasSections(r, POINT_HEADER));
  return out.join("\n\n") + "\n";
}

function ratios(aggs: Aggregate[]): string {
  const at = (engine: string, c: number) =>
    aggs.find((a) => a.engine === engine && a.concurrency === c)?.sagasPerSec ?? NaN;
  const rows = [...new Set(aggs.map((a) => a.concurrency))].map((c) => {
    const ours = at("ours-pg", c);
    return [
      String(c),
      num(ours),
      `${num(ours / at("dbos", c), 1)}×`,
      `${num(ours / at("restate", c), 1)}×`,
      `${num(ours / at("raw-naive", c), 2)}×`,
      `${num((ours / at("raw-group", c)) * 100, 0)} %`,
      `${num(at("ours-pglite", c))}`,
    ];
  });
  return (
    "Throughput of ours on PostgreSQL relative to the others, same run, same server:\n\n" +
    table(
      [
        "in flight",
        "ours-pg sagas/s",
        "÷ DBOS",
        "÷ Restate",
        "÷ raw-naive",
        "of raw-group (ceiling)",
        "ours-pglite sagas/s",
      ],
      rows,
    )
  );
}
