import { ErrorCodes, SagaError } from "./errors.js";
import type { SagaEvent } from "./events.js";
import { PENDING_STEP, type SagaState, type StepState } from "./state.js";

/** Raised when an event cannot follow the state it is applied to (a corrupt or foreign stream). */
export class InvalidTransitionError extends SagaError {
  override readonly name = "InvalidTransitionError";
  constructor(message: string) {
    super(ErrorCodes.SAGA_INVALID_TRANSITION, message, { retryable: false });
  }
}

/** PENDING_STEP unfrozen, to spread from: V8 copies a frozen object several times slower. */
const BLANK_STEP: StepState = { ...PENDING_STEP };

/**
 * The pure transition `(state, event) -> state`. `null` is the state before `SagaStarted`.
 * It never mutates its input. Replaying a stream from `null` gives the stored projection.
 */
export function applyEvent(state: SagaState | null, event: SagaEvent): SagaState {
  if (event.type === "SagaStarted") {
    if (state !== null)
      throw new InvalidTransitionError("SagaStarted on a saga that already started");
    return {
      id: event.sagaId,
      tenantId: event.tenantId,
      name: event.name,
      version: event.version,
      input: event.input,
      status: "running",
      reason: null,
      error: null,
      failedPhase: null,
      idempotencyKey: event.idempotencyKey,
      correlationId: event.correlationId ?? null,
      attributes: event.attributes ?? {},
      parent: event.parent ?? null,
      ...(event.fault ? { fault: event.fault } : {}),
      deadlineAt: event.deadlineAt,
      startedAt: event.at,
      updatedAt: event.at,
      endedAt: null,
      seq: 1,
      steps: {},
      completionOrder: [],
    };
  }
  if (state === null) throw new InvalidTransitionError(`${event.type} before SagaStarted`);
  assertFits(state, event);
  const next: SagaState = { ...state, seq: state.seq + 1, updatedAt: event.at };

  const step = (name: string, patch: Partial<StepState>): void => {
    next.steps = { ...next.steps, [name]: { ...(state.steps[name] ?? BLANK_STEP), ...patch } };
  };

  switch (event.type) {
    case "StepStarted": {
      // A step still running here means the process of its previous attempt died: a lost attempt.
      const lost = state.steps[event.step]?.status === "running";
      const prev = state.steps[event.step] ?? BLANK_STEP;
      step(event.step, {
        status: "running",
        attempts: event.attempt,
        retryAt: null,
        startedAt: event.at,
        endedAt: null,
        ...(lost ? { lostAttempts: prev.lostAttempts + 1, lostInARow: prev.lostInARow + 1 } : {}),
      });
      break;
    }
    case "StepSuspended":
      step(event.step, {
        status: "suspended",
        suspendedUntil: event.until,
        waitFor: event.wait,
        lostInARow: 0,
      });
      break;
    case "StepCompleted":
      step(event.step, {
        lostInARow: 0,
        status: "completed",
        result: event.result,
        error: null,
        endedAt: event.at,
        suspendedUntil: null,
        waitFor: null,
      });
      next.completionOrder = [...state.completionOrder, event.step];
      break;
    case "StepFailed":
      step(event.step, {
        lostInARow: 0,
        status: "failed",
        error: event.error,
        retryAt: event.retryAt,
        endedAt: event.at,
        suspendedUntil: null,
        waitFor: null,
      });
      break;
    case "StepAborted":
      step(event.step, {
        lostInARow: 0,
        status: "aborted",
        error: event.error,
        retryAt: null,
        endedAt: event.at,
        suspendedUntil: null,
        waitFor: null,
      });
      break;
    case "StepSkipped":
      step(event.step, { status: "skipped", startedAt: event.at, endedAt: event.at });
      break;
    case "SagaCompleted":
      next.status = "completed";
      next.endedAt = event.at;
      break;
    case "SagaCompensationStarted":
      // Suspended steps stop waiting: they did not complete, so they are not compensated.
      for (const [name, s] of Object.entries(state.steps)) {
        if (s.status === "suspended") {
          step(name, {
            status: "aborted",
            error: event.error,
            endedAt: event.at,
            suspendedUntil: null,
            waitFor: null,
          });
        }
      }
      next.status = "compensating";
      next.reason = event.reason;
      next.error = event.error;
      next.failedPhase = null;
      next.endedAt = null;
      break;
    case "StepCompensationStarted": {
      const prev = state.steps[event.step] ?? BLANK_STEP;
      const lost = prev.status === "compensating";
      step(event.step, {
        status: "compensating",
        compensationAttempts: event.attempt,
        compensationRetryAt: null,
        ...(lost
          ? {
              compensationLostAttempts: prev.compensationLostAttempts + 1,
              lostInARow: prev.lostInARow + 1,
            }
          : {}),
      });
      break;
    }
    case "StepCompensated":
      step(event.step, {
        lostInARow: 0,
        status: "compensated",
        compensationError: null,
        compensationRetryAt: null,
        compensatedAt: event.at,
      });
      break;
    case "StepCompensationFailed":
      step(event.step, {
        lostInARow: 0,
        status: "compensation_failed",
        compensationError: event.error,
        compensationRetryAt: event.retryAt,
      });
      break;
    case "SagaCompensated":
      next.status = "compensated";
      next.endedAt = event.at;
      break;
    case "SagaFailed":
      next.status = "failed";
      next.failedPhase = event.phase;
      next.error = event.error;
      next.endedAt = event.at;
      break;
    case "SagaRetried":
      retry(state, next, event.deadlineAt);
      break;
    default: {
      const unknown: never = event;
      throw new InvalidTransitionError(
        `unknown event type ${JSON.stringify((unknown as { type?: unknown }).type)}`,
      );
    }
  }
  return next;
}

/** Refuses events that cannot follow the state: a stream that says them was corrupted or forged. */
function assertFits(state: SagaState, event: Exclude<SagaEvent, { type: "SagaStarted" }>): void {
  const undoRequested =
    state.status === "completed" &&
    event.type === "SagaCompensationStarted" &&
    event.reason === "requested";
  if (
    !undoRequested &&
    event.type !== "SagaRetried" &&
    (state.status === "completed" || state.status === "compensated")
  ) {
    throw new InvalidTransitionError(`${event.type} after the saga ${state.status}`);
  }
  const step = "step" in event ? (state.steps[event.step] ?? PENDING_STEP) : null;
  const fail = (why: string) => {
    throw new InvalidTransitionError(
      `${event.type} of step ${(event as { step?: string }).step ?? "?"}: ${why}`,
    );
  };
  switch (event.type) {
    case "StepStarted":
      if (state.status !== "running") fail(`the saga is ${state.status}`);
      if (step && !["pending", "running", "failed"].includes(step.status))
        fail(`the step is ${step.status}`);
      break;
    case "StepSuspended":
      if (step && (step.status !== "running" || step.attempts !== event.attempt))
        fail(
          `attempt ${event.attempt} is not running (step ${step.status}, attempt ${step.attempts})`,
        );
      break;
    case "StepCompleted":
    case "StepFailed":
    case "StepAborted":
      if (
        step &&
        (!["running", "suspended"].includes(step.status) || step.attempts !== event.attempt)
      )
        fail(
          `attempt ${event.attempt} is not running (step ${step.status}, attempt ${step.attempts})`,
        );
      break;
    case "StepSkipped":
      if (step && step.status !== "pending") fail(`the step is ${step.status}`);
      break;
    case "StepCompensationStarted":
      if (state.status !== "compensating") fail(`the saga is ${state.status}`);
      if (step && !["completed", "compensating", "compensation_failed"].includes(step.status))
        fail(`the step is ${step.status}`);
      break;
    case "StepCompensated":
    case "StepCompensationFailed":
      if (step && (step.status !== "compensating" || step.compensationAttempts !== event.attempt))
        fail(`compensation attempt ${event.attempt} is not running`);
      break;
    default:
      break;
  }
}

/** An operator retry: the steps that failed for good get a fresh attempt budget. */
function retry(state: SagaState, next: SagaState, deadlineAt: number | null): void {
  if (state.status !== "failed")
    throw new InvalidTransitionError(`SagaRetried on a ${state.status} saga`);
  const steps: Record<string, StepState> = { ...state.steps };
  if (state.failedPhase === "compensation") {
    next.status = "compensating";
    for (const [name, s] of Object.entries(steps)) {
      if (s.status === "compensation_failed" && s.compensationRetryAt === null) {
        steps[name] = {
          ...s,
          status: "completed",
          compensationAttemptBase: s.compensationAttempts,
          compensationLostAttempts: 0,
          lostInARow: 0,
        };
      }
    }
  } else {
    next.status = "running";
    next.error = null;
    next.reason = null;
    for (const [name, s] of Object.entries(steps)) {
      if ((s.status === "failed" && s.retryAt === null) || s.status === "aborted") {
        steps[name] = {
          ...s,
          status: "pending",
          attemptBase: s.attempts,
          lostAttempts: 0,
          lostInARow: 0,
        };
      }
    }
  }
  next.steps = steps;
  next.failedPhase = null;
  next.endedAt = null;
  next.deadlineAt = deadlineAt;
}

/** Replays a whole stream. */
export function replay(events: readonly SagaEvent[]): SagaState | null {
  let state: SagaState | null = null;
  for (const event of events) state = applyEvent(state, event);
  return state;
}
