import { isSettled, type SagaState, type SagaStatus } from "../../core/state.js";

const BUCKETS = 24;

/** The p-th percentile (0..100) of sorted numbers, nearest rank; null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function durations(states: readonly SagaState[]) {
  const ms = states
    .filter((s) => s.endedAt !== null)
    .map((s) => s.endedAt! - s.startedAt)
    .sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p90: percentile(ms, 90), p99: percentile(ms, 99) };
}

function outcomes(states: readonly SagaState[]) {
  const count = (status: SagaStatus) => states.filter((s) => s.status === status).length;
  const ended = states.filter((s) => isSettled(s.status)).length;
  const rate = (n: number) => (ended === 0 ? null : n / ended);
  return {
    started: states.length,
    ended,
    completed: count("completed"),
    compensated: count("compensated"),
    failed: count("failed"),
    active: count("running") + count("compensating"),
    success_rate: rate(count("completed")),
    compensation_rate: rate(count("compensated")),
    failure_rate: rate(count("failed")),
  };
}

/**
 * Throughput, outcome rates and duration percentiles of a sample of sagas (the newest ones), over
 * the time they span cut into equal buckets, and per saga type.
 */
export function overviewOf(states: readonly SagaState[], now: number, truncated: boolean) {
  const from = states.reduce((min, s) => Math.min(min, s.startedAt), now);
  const span = Math.max(10 * 60_000, now - from);
  const bucketMs = Math.ceil(span / BUCKETS / 1000) * 1000;
  const start = now - bucketMs * BUCKETS;
  const buckets = Array.from({ length: BUCKETS }, (_, i) => ({
    from: start + i * bucketMs,
    states: [] as SagaState[],
  }));
  for (const s of states) {
    const i = Math.min(BUCKETS - 1, Math.max(0, Math.floor((s.startedAt - start) / bucketMs)));
    buckets[i]!.states.push(s);
  }
  const byType = new Map<string, SagaState[]>();
  for (const s of states) byType.set(s.name, [...(byType.get(s.name) ?? []), s]);
  return {
    sample: states.length,
    truncated,
    from: new Date(start).toISOString(),
    to: new Date(now).toISOString(),
    bucket_ms: bucketMs,
    totals: { ...outcomes(states), duration_ms: durations(states) },
    series: buckets.map((b) => ({
      at: new Date(b.from).toISOString(),
      ...outcomes(b.states),
      duration_ms: durations(b.states),
    })),
    by_type: [...byType.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([saga_type, list]) => ({
        saga_type,
        ...outcomes(list),
        duration_ms: durations(list),
      })),
  };
}
