import type { ErrorInfo } from "./errors.js";
import type {
  CompensationReason,
  FailedPhase,
  FaultDirective,
  ParentRef,
  WaitSpec,
} from "./events.js";
import type { Json, JsonObject } from "./json.js";

export const SagaStatuses = {
  running: "running",
  compensating: "compensating",
  completed: "completed",
  compensated: "compensated",
  failed: "failed",
} as const;
export type SagaStatus = (typeof SagaStatuses)[keyof typeof SagaStatuses];

/** Running or compensating: a worker moves it (see core/GLOSSARY.md). */
export const ACTIVE_STATUSES: readonly SagaStatus[] = [
  SagaStatuses.running,
  SagaStatuses.compensating,
];
/** Settled: it will not move on its own; `failed` waits for an operator. */
export const SETTLED_STATUSES: readonly SagaStatus[] = [
  SagaStatuses.completed,
  SagaStatuses.compensated,
  SagaStatuses.failed,
];
/** Ended: completed or compensated; only a requested compensation moves a completed one again. */
export const ENDED_STATUSES: readonly SagaStatus[] = [
  SagaStatuses.completed,
  SagaStatuses.compensated,
];

export function isActive(status: SagaStatus): boolean {
  return status === SagaStatuses.running || status === SagaStatuses.compensating;
}

export function isSettled(status: SagaStatus): boolean {
  return !isActive(status);
}

export function isEnded(status: SagaStatus): boolean {
  return status === SagaStatuses.completed || status === SagaStatuses.compensated;
}

export type StepStatus =
  | "pending"
  | "running"
  | "suspended"
  | "completed"
  | "failed"
  | "aborted"
  | "skipped"
  | "compensating"
  | "compensated"
  | "compensation_failed";

export interface StepState {
  status: StepStatus;
  /** Attempts of the action made so far (the number of the last one). */
  attempts: number;
  /** Attempts made before the last operator retry; the retry policy counts from here. */
  attemptBase: number;
  result: Json;
  error: ErrorInfo | null;
  /** When a failed attempt will be retried; null when no retry is scheduled. */
  retryAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  /** While suspended: the durable timer (null = none) and what the step waits for. */
  suspendedUntil: number | null;
  waitFor: WaitSpec | null;
  /**
   * Attempts since `attemptBase` whose process died before recording an outcome. A lost attempt
   * is our crash, not the step's failure: it does not count against `retry.maxAttempts`.
   */
  lostAttempts: number;
  /** Lost attempts in a row (either phase), reset by any recorded outcome: the crash-loop count. */
  lostInARow: number;
  compensationAttempts: number;
  compensationAttemptBase: number;
  /** Like `lostAttempts`, for the compensation (since `compensationAttemptBase`). */
  compensationLostAttempts: number;
  compensationError: ErrorInfo | null;
  compensationRetryAt: number | null;
  compensatedAt: number | null;
}

/** The projection of a saga's event stream. Everything in it is JSON. */
export interface SagaState {
  id: string;
  tenantId: string;
  name: string;
  version: number;
  input: Json;
  status: SagaStatus;
  /** Why the saga compensated (or is compensating); null while it goes forward. */
  reason: CompensationReason | null;
  error: ErrorInfo | null;
  failedPhase: FailedPhase | null;
  idempotencyKey: string | null;
  correlationId: string | null;
  attributes: JsonObject;
  /** The step of another saga that started this one, or null. */
  parent: ParentRef | null;
  /** The injected fault of a rehearsal (absent for every other saga). */
  fault?: FaultDirective;
  deadlineAt: number | null;
  startedAt: number;
  updatedAt: number;
  endedAt: number | null;
  /** Stream version: the sequence number of the last applied event (1 after SagaStarted). */
  seq: number;
  steps: Record<string, StepState>;
  /** Names of completed forward steps, in completion order (compensation runs it backwards). */
  completionOrder: string[];
}

export const PENDING_STEP: StepState = Object.freeze({
  status: "pending",
  attempts: 0,
  attemptBase: 0,
  result: null,
  error: null,
  retryAt: null,
  startedAt: null,
  endedAt: null,
  suspendedUntil: null,
  waitFor: null,
  lostAttempts: 0,
  lostInARow: 0,
  compensationAttempts: 0,
  compensationAttemptBase: 0,
  compensationLostAttempts: 0,
  compensationError: null,
  compensationRetryAt: null,
  compensatedAt: null,
});

/** Results of the steps that completed (including those compensated since), by step name. */
export function stepResults(state: SagaState): Record<string, Json> {
  const results: Record<string, Json> = {};
  for (const name of state.completionOrder) {
    const step = state.steps[name];
    if (step) results[name] = step.result;
  }
  return results;
}
