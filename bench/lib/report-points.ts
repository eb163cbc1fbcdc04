import type { Aggregate } from "./aggregate.js";
import { ms, num } from "./format.js";

export const POINT_HEADER = [
  "engine",
  "in flight",
  "sagas/s (each rep)",
  "latency p50 / p95 / p99 ms",
  "dispatch p50 / p99 ms",
  "node CPU s / 1k sagas",
  "peak RSS MB",
  "max timer lag ms",
  "store CPU (cores)",
  "other load (cores)",
  "commits / step",
  "commits / saga",
  "WAL syncs / saga",
  "WAL KB / saga",
  "round trips / step",
  "check",
];

export function pointRows(aggs: Aggregate[]): string[][] {
  return aggs.map((a) => [
    a.engine,
    String(a.concurrency),
    `**${num(a.sagasPerSec)}** (${a.reps.map((r) => (r.result ? num(r.result.sagasPerSec) : "err")).join(" / ")})`,
    `${ms(a.latP50)} / ${ms(a.latP95)} / ${ms(a.latP99)}`,
    `${ms(a.dispP50)} / ${ms(a.dispP99)}`,
    num(a.cpuPer1000, 2),
    num(a.peakRssMb),
    num(a.maxLagMs),
    Number.isFinite(a.storeCpu) ? `${num(a.storeCpu, 2)} ${storeOf(a)}` : "in-process",
    num(a.otherCores, 2),
    num(a.commitsPerStep, 2),
    num(a.commitsPerSaga, 2),
    num(a.walSyncsPerSaga, 2),
    num(a.walKbPerSaga, 1),
    num(a.roundTripsPerStep, 2),
    a.check,
  ]);
}

function storeOf(a: Aggregate): string {
  return a.ok[0]?.result?.storeLabel === "restate-server" ? "(restate-server)" : "(PG)";
}
