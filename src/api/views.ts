import type { SagaEvent } from "../core/events.js";
import { planSteps, type SagaPlan } from "../core/plan.js";
import { PENDING_STEP, stepResults, type SagaState, type StepState } from "../core/state.js";

/** The largest time a `Date` holds (±8.64e15 ms, year ±275760). */
const MAX_DATE_MS = 8.64e15;

/**
 * An ISO time for the API. Never throws: a stored time out of `Date`'s range (or not a number)
 * is clamped to the nearest representable one (NaN: the epoch) instead of failing the read.
 */
export function isoTime(ms: number): string {
  const n = typeof ms === "number" && !Number.isNaN(ms) ? ms : 0;
  return new Date(Math.max(-MAX_DATE_MS, Math.min(MAX_DATE_MS, n))).toISOString();
}

const iso = (ms: number | null) => (ms === null || ms === undefined ? null : isoTime(ms));

/** A saga as the API shows it (snake_case, ISO times). */
export function sagaView(state: SagaState) {
  return {
    saga_id: state.id,
    saga_type: state.name,
    version: state.version,
    status: state.status,
    reason: state.reason,
    failed_phase: state.failedPhase,
    input: state.input,
    results: stepResults(state),
    error: state.error,
    attributes: state.attributes,
    idempotency_key: state.idempotencyKey,
    correlation_id: state.correlationId,
    created_at: iso(state.startedAt),
    updated_at: iso(state.updatedAt),
    ended_at: iso(state.endedAt),
    deadline_at: iso(state.deadlineAt),
    event_count: state.seq,
  };
}

/** The steps of a saga in definition order (or history order when this server lacks the definition). */
export function stepsView(state: SagaState, plan: SagaPlan | undefined) {
  const groups = new Map<string, string>();
  for (const node of plan?.nodes ?? [])
    if (node.kind === "parallel") for (const b of node.branches) groups.set(b.name, node.name);
  const names = plan ? planSteps(plan).map((s) => s.name) : Object.keys(state.steps);
  const compensable = new Map(plan ? planSteps(plan).map((s) => [s.name, s.compensable]) : []);
  return names.map((name) => {
    const s = state.steps[name] ?? PENDING_STEP;
    return {
      name,
      group: groups.get(name) ?? null,
      status: s.status,
      attempts: s.attempts,
      started_at: iso(s.startedAt),
      ended_at: iso(s.endedAt),
      duration_ms: s.startedAt !== null && s.endedAt !== null ? s.endedAt - s.startedAt : null,
      retry_at: iso(s.retryAt),
      last_error: s.error,
      result: s.status === "skipped" || s.status === "pending" ? null : s.result,
      compensation: compensationView(s, compensable.get(name)),
    };
  });
}

function compensationView(s: StepState, compensable: boolean | undefined) {
  const status =
    s.status === "compensated"
      ? "completed"
      : s.status === "compensating"
        ? "running"
        : s.status === "compensation_failed"
          ? s.compensationRetryAt === null
            ? "failed"
            : "retrying"
          : compensable === false
            ? "none"
            : "not_needed";
  return {
    status,
    attempts: s.compensationAttempts,
    last_error: s.compensationError,
    retry_at: iso(s.compensationRetryAt),
    completed_at: iso(s.compensatedAt),
  };
}

/** One event of a saga's history. */
export function eventView(seq: number, event: SagaEvent) {
  const { type, at, ...data } = event;
  return { seq, type, at: isoTime(at), data };
}
