import type { DecideInput } from "../../../src/core/decide.js";
import { errorInfo, type ErrorInfo } from "../../../src/core/errors.js";
import type { EventDraft, SagaEvent } from "../../../src/core/events.js";
import type { NodePlan, RetryPolicy, SagaPlan, StepPlan } from "../../../src/core/plan.js";
import { applyEvent } from "../../../src/core/reducer.js";
import type { SagaState } from "../../../src/core/state.js";

/** Start of every hand-written history (ms since the epoch). */
export const T0 = 1_700_000_000_000;

/** A retry policy without jitter, so delays are exact: 100, 200, 400… capped at 10 s. */
export const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  maxAttempts: 3,
  initialDelayMs: 100,
  backoff: 2,
  maxDelayMs: 10_000,
  jitter: 0,
  ...overrides,
});

export interface StepOptions {
  compensable?: boolean;
  conditional?: boolean;
  maxAttempts?: number;
  compensationMaxAttempts?: number;
}

export function step(name: string, options: StepOptions = {}): StepPlan {
  return {
    name,
    timeoutMs: null,
    retry: policy({ maxAttempts: options.maxAttempts ?? 3 }),
    compensable: options.compensable ?? true,
    compensationTimeoutMs: null,
    compensationRetry: policy({ maxAttempts: options.compensationMaxAttempts ?? 3 }),
    conditional: options.conditional ?? false,
  };
}

export function parallel(name: string, ...branches: StepPlan[]): NodePlan {
  return { kind: "parallel", name, branches };
}

export function saga(
  nodes: (StepPlan | NodePlan)[],
  options: Partial<Omit<SagaPlan, "nodes">> = {},
): SagaPlan {
  return {
    name: "test-saga",
    version: 1,
    timeoutMs: null,
    onFailure: "compensate",
    ...options,
    nodes: nodes.map((n): NodePlan => ("kind" in n ? n : { kind: "step", step: n })),
  };
}

export function startedEvent(
  at = T0,
  deadlineAt: number | null = null,
): Extract<SagaEvent, { type: "SagaStarted" }> {
  return {
    type: "SagaStarted",
    at,
    sagaId: "saga-1",
    tenantId: "tenant-1",
    name: "test-saga",
    version: 1,
    input: { order: 42 },
    idempotencyKey: null,
    deadlineAt,
  };
}

/** A draft with an optional time; without one it gets `T0 + its index`. */
export type Stamped = EventDraft & { at?: number };

/** Stamps drafts in order (T0 + index unless `at` is given). */
export function stamp(drafts: readonly Stamped[], offset = 1): SagaEvent[] {
  return drafts.map((d, i) => ({ ...d, at: d.at ?? T0 + offset + i }));
}

/** The state after SagaStarted (at T0, with `deadlineAt`) followed by `drafts`. */
export function stateAfter(
  drafts: readonly Stamped[],
  deadlineAt: number | null = null,
): SagaState {
  let state = applyEvent(null, startedEvent(T0, deadlineAt));
  for (const event of stamp(drafts)) state = applyEvent(state, event);
  return state;
}

export const boom = (message = "boom", retryable = true): ErrorInfo =>
  errorInfo("TEST_FAILURE", message, retryable);

export function input(overrides: Partial<DecideInput> & { running?: string[] } = {}): DecideInput {
  const { running, ...rest } = overrides;
  return {
    now: T0 + 1_000,
    inFlight: new Set(running ?? []),
    cancelRequested: false,
    evaluate: () => true,
    ...rest,
  };
}

/** Freezes an object graph, so that any write to it throws (ESM code is strict). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
