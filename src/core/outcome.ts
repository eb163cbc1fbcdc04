import type { ErrorInfo } from "./errors.js";
import type { EventDraft, OutboxMessage, WaitSpec } from "./events.js";
import type { Json } from "./json.js";
import { attemptFailed, type Phase } from "./decide.js";
import type { StepPlan } from "./plan.js";
import type { StepState } from "./state.js";

/** How one attempt of a step's action or compensation ended. */
export type AttemptOutcome =
  | { kind: "ok"; result: Json; publish?: OutboxMessage[] }
  | { kind: "suspend"; until: number | null; wait: WaitSpec | null }
  | { kind: "error"; error: ErrorInfo }
  /** Stopped from outside (cancel, deadline, a sibling's failure, the lease lost, shutdown). */
  | { kind: "aborted"; reason: unknown };

export interface SettledAttempt {
  phase: Phase;
  plan: StepPlan;
  /** The step's state before the outcome. */
  state: StepState;
  attempt: number;
  outcome: AttemptOutcome;
  /** Set when the engine aborted the attempt on purpose (cancel, deadline, sibling failure). */
  abortError: ErrorInfo | null;
  /** Database-clock time of the outcome, and a random number in [0, 1) for the retry jitter. */
  now: number;
  random: number;
}

/**
 * The event recording an attempt's outcome, or null when nothing is recorded (an attempt stopped
 * because the saga left this process: whoever resumes it sees a lost attempt).
 *
 * - ok: `StepCompleted` (with the messages it publishes) or `StepCompensated`;
 * - suspend: `StepSuspended` until a time or an event; a compensation cannot wait, so a
 *   compensation that returns a suspension is taken as done;
 * - error: `StepFailed` / `StepCompensationFailed`, with a retry time when the policy allows one;
 * - aborted by the engine: `StepAborted` for a forward step (a compensation runs to its end).
 */
export function outcomeEvent(a: SettledAttempt): EventDraft | null {
  const { phase, plan, attempt, outcome } = a;
  const step = plan.name;
  switch (outcome.kind) {
    case "suspend":
      if (phase === "forward")
        return { type: "StepSuspended", step, attempt, until: outcome.until, wait: outcome.wait };
      return { type: "StepCompensated", step, attempt };
    case "ok":
      if (phase === "compensation") return { type: "StepCompensated", step, attempt };
      return {
        type: "StepCompleted",
        step,
        attempt,
        result: outcome.result,
        ...(outcome.publish ? { publish: outcome.publish } : {}),
      };
    case "error":
      return attemptFailed(phase, plan, a.state, attempt, outcome.error, a.now, a.random);
    case "aborted":
      return a.abortError !== null && phase === "forward"
        ? { type: "StepAborted", step, attempt, error: a.abortError }
        : null;
  }
}
