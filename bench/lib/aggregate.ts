import { derived, type PointRecord } from "../scenarios/points.js";
import { mean } from "./stats.js";
import type { EngineName } from "./types.js";

/** The repetitions of one (engine, workload, concurrency, label) point, combined. */
export interface Aggregate {
  engine: EngineName;
  concurrency: number;
  label: string;
  reps: PointRecord[];
  ok: PointRecord[];
  sagasPerSec: number;
  latP50: number;
  latP95: number;
  latP99: number;
  dispP50: number;
  dispP99: number;
  cpuPer1000: number;
  peakRssMb: number;
  maxLagMs: number;
  storeCpu: number;
  otherCores: number;
  commitsPerStep: number;
  commitsPerSaga: number;
  walSyncsPerSaga: number;
  walKbPerSaga: number;
  roundTripsPerStep: number;
  check: string;
}

const TERMINAL: Record<EngineName, (workload: string) => string> = {
  "ours-pg": (w) => (w === "saga3" ? "completed" : "compensated"),
  "ours-pglite": () => "",
  dbos: () => "SUCCESS",
  restate: () => "completed",
  "raw-naive": () => "completed",
  "raw-group": () => "completed",
};

/** "ok", or what went wrong: errors, failed or stuck sagas, duplicate steps, store mismatch. */
export function check(r: PointRecord): string {
  if (r.error || !r.result) return `error: ${(r.error ?? "no result").split("\n")[0]}`;
  const res = r.result;
  const issues: string[] = [];
  if (res.failed) issues.push(`${res.failed} failed (${res.firstError})`);
  if (res.stuck) issues.push(`${res.stuck} unfinished after 60 s`);
  if (res.duplicateSteps) issues.push(`${res.duplicateSteps} duplicate step runs`);
  const base = r.storeBaseline ?? {};
  const counts = res.storeCounts
    ? Object.fromEntries(Object.entries(res.storeCounts).map(([k, n]) => [k, n - (base[k] ?? 0)]))
    : null;
  if (counts) {
    const terminal = TERMINAL[r.engine](r.workload);
    if (r.engine === "ours-pglite") {
      if ((counts.active ?? 0) > 0) issues.push(`store: ${counts.active} still active`);
    } else {
      const extra = r.engine === "restate" ? 1 : 0; // the readiness call before the run
      for (const [status, n] of Object.entries(counts)) {
        if (status !== terminal && n > 0) issues.push(`store: ${n} ${status}`);
      }
      const stored = counts[terminal] ?? 0;
      if (stored !== res.completedTotal + extra)
        issues.push(`store has ${stored} ${terminal}, client saw ${res.completedTotal + extra}`);
    }
  }
  return issues.length === 0 ? "ok" : issues.join("; ");
}

export function aggregate(records: PointRecord[]): Aggregate[] {
  const groups = new Map<string, PointRecord[]>();
  for (const r of records) {
    const key = `${r.label ?? r.workload}|${r.engine}|${r.concurrency}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((reps) => {
    const ok = reps.filter((r) => r.result !== null);
    const res = ok.map((r) => r.result!);
    const d = ok.map(derived);
    const checks = [...new Set(reps.map(check))];
    return {
      engine: reps[0]!.engine,
      concurrency: reps[0]!.concurrency,
      label: reps[0]!.label ?? reps[0]!.workload,
      reps,
      ok,
      sagasPerSec: mean(res.map((r) => r.sagasPerSec)),
      latP50: mean(res.map((r) => r.latency.p50)),
      latP95: mean(res.map((r) => r.latency.p95)),
      latP99: mean(res.map((r) => r.latency.p99)),
      dispP50: mean(res.map((r) => r.dispatch.p50)),
      dispP99: mean(res.map((r) => r.dispatch.p99)),
      cpuPer1000: mean(res.map((r) => r.nodeCpuSecPer1000)),
      peakRssMb: Math.max(...res.map((r) => r.peakRssMb)),
      maxLagMs: Math.max(...res.map((r) => r.maxTimerLagMs)),
      storeCpu: mean(res.map((r) => r.storeCpuCores)),
      otherCores: mean(res.map((r) => r.otherCores)),
      commitsPerStep: mean(d.map((x) => x.commitsPerStep)),
      commitsPerSaga: mean(d.map((x) => x.commitsPerSaga)),
      walSyncsPerSaga: mean(d.map((x) => x.walSyncsPerSaga)),
      walKbPerSaga: mean(d.map((x) => x.walKbPerSaga)),
      roundTripsPerStep: mean(d.map((x) => x.roundTripsPerStep)),
      check: checks.length === 1 ? checks[0]! : checks.filter((c) => c !== "ok").join("; "),
    };
  });
}
