import { ErrorCodes, errorInfo, toErrorInfo, type ErrorInfo } from "./errors.js";
import type { Json } from "./json.js";
import type { CompensationReason, EventDraft } from "./events.js";
import {
  DEFAULT_CRASH_LOOP_LIMIT,
  nodeSteps,
  stepsByName,
  type SagaPlan,
  type StepPlan,
} from "./plan.js";
import { retryAt } from "./retry.js";
import { PENDING_STEP, type SagaState, type StepState } from "./state.js";

export type Phase = "forward" | "compensation";

/** What the engine must do next for one saga. */
export type Decision =
  /** Append this event (stamped with the time) to the stream, then decide again. */
  | { type: "append"; event: EventDraft }
  /**
   * Start these attempts: append the events of `attemptStartEvents` for each, then run the
   * attempts that have no `failWith` (a `when` that threw fails its step as it starts).
   */
  | { type: "start"; phase: Phase; attempts: AttemptStart[] }
  /** Abort the attempts in flight; their outcomes are recorded as `StepAborted` with `error`. */
  | { type: "abort"; error: ErrorInfo }
  /** Wait for an in-flight attempt to finish (or until `wakeAt`, for a retry due meanwhile). */
  | { type: "await"; wakeAt: number | null }
  /** Nothing in flight and nothing due: sleep until `wakeAt` (a durable timer; null = until a signal). */
  | { type: "sleep"; wakeAt: number | null }
  /** Nothing to do: the saga ended, or it waits for an operator. */
  | { type: "idle" };

export interface DecideInput {
  /** Database-clock milliseconds. */
  now: number;
  /**
   * Steps whose attempt is running in this process right now (a set of names, or the runner's map
   * keyed by name: only `has`, `size` and `keys` are used).
   */
  inFlight: Pick<ReadonlySet<string>, "has" | "size" | "keys">;
  /** A cancel was requested (by anyone) and not yet acted on. */
  cancelRequested: boolean;
  /**
   * Evaluates a conditional step's `when`; called only for steps the saga has just reached. A
   * `when` that throws fails its step for good (not retried: the same input throws again).
   */
  evaluate: (step: string) => boolean;
  /** Signals delivered to suspended steps and not yet consumed, by step name. */
  signals?: ReadonlyMap<string, Signal>;
}

/** One attempt to start; `failWith`: its step's `when` threw, so it fails as it starts. */
export interface AttemptStart {
  step: string;
  attempt: number;
  failWith?: ErrorInfo;
}

/** A delivery to a suspended step: an event it waited for, or the end of its child saga. */
export interface Signal {
  id: string;
  payload: Json;
  /** Set when the delivery means failure (e.g. the child saga did not complete). */
  error: ErrorInfo | null;
}

const cancelledError = (): ErrorInfo =>
  errorInfo(ErrorCodes.SAGA_CANCELLED, "the saga was cancelled", false);
const timedOutError = (): ErrorInfo =>
  errorInfo(ErrorCodes.SAGA_TIMEOUT, "the saga ran past its deadline", false);
const crashLoop = (what: string, lost: number): ErrorInfo =>
  errorInfo(
    ErrorCodes.SAGA_CRASH_LOOP,
    `the process running this ${what} stopped before recording its outcome ${lost} times in a row`,
    false,
  );
const limitOf = (plan: SagaPlan): number => plan.crashLoopLimit ?? DEFAULT_CRASH_LOOP_LIMIT;

/**
 * The pure "what happens next" function: from the plan, the state and the clock, one decision.
 * The engine loops: decide, act (append / start / abort / wait), apply the outcome, decide again.
 */
export function decide(plan: SagaPlan, state: SagaState, input: DecideInput): Decision {
  const anyInFlight = input.inFlight.size > 0;
  switch (state.status) {
    case "completed":
    case "compensated":
      return { type: "idle" };
    case "failed":
      if (input.cancelRequested && state.failedPhase === "forward")
        return compensate("cancelled", cancelledError());
      return { type: "idle" };
    case "compensating":
      return decideCompensation(plan, state, input);
    case "running":
      break;
  }

  if (input.cancelRequested) {
    return anyInFlight
      ? { type: "abort", error: cancelledError() }
      : compensate("cancelled", cancelledError());
  }
  if (state.deadlineAt !== null && input.now >= state.deadlineAt) {
    return anyInFlight
      ? { type: "abort", error: timedOutError() }
      : compensate("timed_out", timedOutError());
  }
  return decideForward(plan, state, input);
}

function compensate(reason: CompensationReason, error: ErrorInfo): Decision {
  return { type: "append", event: { type: "SagaCompensationStarted", reason, error } };
}

function stepState(state: SagaState, name: string): StepState {
  return state.steps[name] ?? PENDING_STEP;
}

function decideForward(plan: SagaPlan, state: SagaState, input: DecideInput): Decision {
  const crashLoopLimit = limitOf(plan);
  for (const node of plan.nodes) {
    const steps = nodeSteps(node);
    if (steps.every((s) => isDone(stepState(state, s.name)))) continue;

    // The branch that failed for good is the cause; branches aborted because of it are not.
    const states = steps.map((s) => stepState(state, s.name));
    const failure =
      states.find((s) => s.status === "failed" && s.retryAt === null) ??
      states.find((s) => s.status === "aborted");
    if (failure) {
      if (steps.some((s) => input.inFlight.has(s.name))) {
        return {
          type: "abort",
          error: errorInfo(
            ErrorCodes.SAGA_SIBLING_FAILED,
            "a parallel branch failed for good",
            false,
          ),
        };
      }
      const error = failure.error ?? errorInfo(ErrorCodes.SAGA_STEP_FAILED, "step failed", false);
      if (plan.onFailure === "pause") {
        return { type: "append", event: { type: "SagaFailed", phase: "forward", error } };
      }
      return compensate("step_failed", error);
    }

    const starts: AttemptStart[] = [];
    let wakeAt: number | null = null;
    let waitingForSignal = false;
    for (const plan of steps) {
      const s = stepState(state, plan.name);
      const next = nextForwardAttempt(plan, s, input, crashLoopLimit);
      if (next.kind === "append") return { type: "append", event: next.event };
      if (next.kind === "start")
        starts.push({
          step: plan.name,
          attempt: next.attempt,
          ...(next.failWith ? { failWith: next.failWith } : {}),
        });
      if (next.kind === "wait") wakeAt = wakeAt === null ? next.at : Math.min(wakeAt, next.at);
      if (next.kind === "signal") waitingForSignal = true;
    }
    if (starts.length > 0) return { type: "start", phase: "forward", attempts: starts };
    wakeAt = withDeadline(wakeAt, state.deadlineAt);
    if (steps.some((s) => input.inFlight.has(s.name))) return { type: "await", wakeAt };
    if (wakeAt !== null || waitingForSignal) return { type: "sleep", wakeAt };
    return { type: "idle" }; // unreachable for a consistent state; never spin
  }
  return { type: "append", event: { type: "SagaCompleted" } };
}

function isDone(s: StepState): boolean {
  return s.status === "completed" || s.status === "skipped";
}

type StepNext =
  | { kind: "append"; event: EventDraft }
  | { kind: "start"; attempt: number; failWith?: ErrorInfo }
  | { kind: "wait"; at: number }
  | { kind: "signal" }
  | { kind: "none" };

function nextForwardAttempt(
  plan: StepPlan,
  s: StepState,
  input: DecideInput,
  crashLoopLimit: number,
): StepNext {
  switch (s.status) {
    case "pending":
      if (s.attempts === 0 && plan.conditional) {
        let run: boolean;
        try {
          run = input.evaluate(plan.name);
        } catch (thrown) {
          return {
            kind: "start",
            attempt: 1,
            failWith: { ...toErrorInfo(thrown), retryable: false },
          };
        }
        if (!run) return { kind: "append", event: { type: "StepSkipped", step: plan.name } };
      }
      return { kind: "start", attempt: s.attempts + 1 };
    case "running":
      if (input.inFlight.has(plan.name)) return { kind: "none" };
      // Started by a process that is gone: a lost attempt. It does not use the retry budget (our
      // crash must not decide the business outcome), but a step that loses its process every
      // time is stopped by the crash-loop limit.
      if (s.lostInARow + 1 >= crashLoopLimit) {
        return {
          kind: "append",
          event: {
            type: "StepFailed",
            step: plan.name,
            attempt: s.attempts,
            error: crashLoop("step", s.lostInARow + 1),
            retryAt: null,
          },
        };
      }
      return { kind: "start", attempt: s.attempts + 1 };
    case "failed":
      if (s.retryAt === null) return { kind: "none" };
      return s.retryAt <= input.now
        ? { kind: "start", attempt: s.attempts + 1 }
        : { kind: "wait", at: s.retryAt };
    case "suspended":
      return resumeSuspended(plan.name, s, input);
    default:
      return { kind: "none" };
  }
}

function resumeSuspended(step: string, s: StepState, input: DecideInput): StepNext {
  const signal = input.signals?.get(step);
  if (signal) {
    const event: EventDraft = signal.error
      ? { type: "StepFailed", step, attempt: s.attempts, error: signal.error, retryAt: null }
      : {
          type: "StepCompleted",
          step,
          attempt: s.attempts,
          result: signal.payload,
          signalId: signal.id,
        };
    return { kind: "append", event };
  }
  if (s.suspendedUntil !== null && s.suspendedUntil <= input.now) {
    const event: EventDraft = s.waitFor
      ? {
          type: "StepFailed",
          step,
          attempt: s.attempts,
          error: errorInfo(
            ErrorCodes.SAGA_WAIT_TIMEOUT,
            `no ${s.waitFor.topic} with ${s.waitFor.path} = ${s.waitFor.key} arrived in time`,
            false,
          ),
          retryAt: null,
        }
      : { type: "StepCompleted", step, attempt: s.attempts, result: null };
    return { kind: "append", event };
  }
  return s.suspendedUntil !== null ? { kind: "wait", at: s.suspendedUntil } : { kind: "signal" };
}

function decideCompensation(plan: SagaPlan, state: SagaState, input: DecideInput): Decision {
  const plans = stepsByName(plan);
  // Forward attempts still in flight (e.g. just after a cancel) must settle first.
  for (const name of input.inFlight.keys()) {
    if (stepState(state, name).status === "running") return { type: "await", wakeAt: null };
  }
  for (let i = state.completionOrder.length - 1; i >= 0; i--) {
    const name = state.completionOrder[i]!;
    const stepPlan = plans.get(name);
    if (!stepPlan?.compensable) continue;
    const s = stepState(state, name);
    switch (s.status) {
      case "compensated":
        continue;
      case "completed":
        return {
          type: "start",
          phase: "compensation",
          attempts: [{ step: name, attempt: s.compensationAttempts + 1 }],
        };
      case "compensating":
        if (input.inFlight.has(name)) return { type: "await", wakeAt: null };
        // A lost compensation attempt: re-run, not counted, unless it is a crash loop.
        if (s.lostInARow + 1 >= limitOf(plan)) {
          return {
            type: "append",
            event: {
              type: "StepCompensationFailed",
              step: name,
              attempt: s.compensationAttempts,
              error: crashLoop("compensation", s.lostInARow + 1),
              retryAt: null,
            },
          };
        }
        return {
          type: "start",
          phase: "compensation",
          attempts: [{ step: name, attempt: s.compensationAttempts + 1 }],
        };
      case "compensation_failed":
        if (s.compensationRetryAt === null) {
          const error =
            s.compensationError ??
            errorInfo(ErrorCodes.SAGA_STEP_FAILED, "compensation failed", false);
          return { type: "append", event: { type: "SagaFailed", phase: "compensation", error } };
        }
        if (s.compensationRetryAt <= input.now) {
          return {
            type: "start",
            phase: "compensation",
            attempts: [{ step: name, attempt: s.compensationAttempts + 1 }],
          };
        }
        return { type: "sleep", wakeAt: s.compensationRetryAt };
      default:
        continue;
    }
  }
  return { type: "append", event: { type: "SagaCompensated" } };
}

function withDeadline(wakeAt: number | null, deadlineAt: number | null): number | null {
  if (deadlineAt === null) return wakeAt;
  return wakeAt === null ? deadlineAt : Math.min(wakeAt, deadlineAt);
}

/** The event recording a failed attempt: with a retry time when the policy allows one. */
export function attemptFailed(
  phase: Phase,
  plan: StepPlan,
  s: StepState,
  attempt: number,
  error: ErrorInfo,
  now: number,
  random: number,
): EventDraft {
  if (phase === "forward") {
    // Lost attempts (our crashes) are not the step's: they do not use its budget.
    const used = attempt - s.attemptBase - s.lostAttempts;
    const at = retryAt(plan.retry, used, error, now, random);
    return { type: "StepFailed", step: plan.name, attempt, error, retryAt: at };
  }
  const used = attempt - s.compensationAttemptBase - s.compensationLostAttempts;
  const at = retryAt(plan.compensationRetry, used, error, now, random);
  return { type: "StepCompensationFailed", step: plan.name, attempt, error, retryAt: at };
}

/**
 * The events that start an attempt: `StepStarted` (or `StepCompensationStarted`), and at once a
 * `StepFailed` with no retry when the step's `when` threw.
 */
export function attemptStartEvents(phase: Phase, start: AttemptStart): EventDraft[] {
  const { step, attempt, failWith } = start;
  if (phase === "compensation") return [{ type: "StepCompensationStarted", step, attempt }];
  const started: EventDraft = { type: "StepStarted", step, attempt };
  if (!failWith) return [started];
  return [started, { type: "StepFailed", step, attempt, error: failWith, retryAt: null }];
}
