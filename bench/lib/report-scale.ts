import type { ScaleRecord } from "../scenarios/scale.js";
import { ms, num, table } from "./format.js";
import { mean } from "./stats.js";

/** The scale section: one row per process count, the repetitions combined. */
export function scaleSection(records: readonly ScaleRecord[] | undefined): string[] {
  const title = "## scale (ours on PostgreSQL, several processes)";
  if (!records || records.length === 0) return [title, "Not run."];
  const counts = [...new Set(records.map((r) => r.processes))].sort((a, b) => a - b);
  const rows = counts.map((processes) => {
    const reps = records.filter((r) => r.processes === processes);
    const ok = reps.filter((r) => r.error === null);
    const avg = (pick: (r: ScaleRecord) => number | null | undefined) => mean(ok.map(pick));
    const checks = [...new Set(reps.map((r) => r.check))];
    return [
      String(processes),
      num(reps[0]!.inFlight / processes),
      `**${num(avg((r) => r.sagasPerSec))}** (${reps.map((r) => (r.error ? "err" : num(r.sagasPerSec))).join(" / ")})`,
      ok.map((r) => r.perProcessSagasPerSec.map((v) => num(v)).join(" + ")).join(" / "),
      `${ms(avg((r) => r.latency?.p50))} / ${ms(avg((r) => r.latency?.p99))}`,
      ms(Math.max(...ok.map((r) => r.latency?.max ?? NaN))),
      num(
        avg((r) => r.nodeCpuSecPer1000),
        2,
      ),
      num(Math.max(...ok.map((r) => r.peakRssMb ?? NaN))),
      num(
        avg((r) => r.pgCores),
        2,
      ),
      num(avg((r) => r.commitsPerSec)),
      num(
        avg((r) => r.commitsPerSaga),
        2,
      ),
      num(
        avg((r) => r.walMbPerSec),
        2,
      ),
      num(avg((r) => r.walSyncsPerSec)),
      num(
        avg((r) => r.otherCores),
        2,
      ),
      checks.length === 1 ? checks[0]! : checks.filter((c) => c !== "ok").join("; "),
    ];
  });
  return [
    title,
    `saga3 with the same total in flight (${records[0]!.inFlight}) split evenly over 1, 2, 4… processes on one fresh PostgreSQL database per point. Each process is a closed loop with its own orchestrator (\`createOrchestrator\` defaults: it runs the sagas it starts at once and claims due work with SKIP LOCKED), all started together after every orchestrator is up. Latencies of all processes are merged; node CPU is summed over the processes; PG CPU is the database's PostgreSQL processes (read by each process over its window, averaged); commits/s, WAL MB/s and WAL syncs/s are deltas between the first window start and the last window end (blurred: busy backends report about once a second; WAL is cluster-wide); commits/saga is exact over the processes' lives. The max latency shows whether any saga waited far longer than the rest.`,
    table(
      [
        "processes",
        "in flight each",
        "sagas/s (each rep)",
        "sagas/s per process",
        "latency p50 / p99 ms",
        "max ms",
        "node CPU s / 1k sagas (sum)",
        "peak RSS MB (largest)",
        "PG CPU (cores)",
        "commits/s",
        "commits / saga",
        "WAL MB/s",
        "WAL syncs/s",
        "other load (cores)",
        "check",
      ],
      rows,
    ),
  ];
}
