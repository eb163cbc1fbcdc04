import type { ErrorInfo } from "./errors.js";
import type { Json, JsonObject } from "./json.js";

/** Why a saga is compensating. `cancelled` and `timed_out` are recorded as the saga's reason. */
export const CompensationReasons = {
  stepFailed: "step_failed",
  cancelled: "cancelled",
  timedOut: "timed_out",
  /** An operator (or the parent of a child saga) asked to undo a completed saga. */
  requested: "requested",
} as const;
export type CompensationReason = (typeof CompensationReasons)[keyof typeof CompensationReasons];

export type FailedPhase = "forward" | "compensation";

/** What a suspended step waits for: an event of type `topic` whose value at `path` equals `key`. */
export interface WaitSpec {
  topic: string;
  /** Dot path into the event (e.g. `data.orderId`). */
  path: string;
  key: string;
}

/** A domain event a step publishes; written to the outbox in the same commit as the step's outcome. */
export interface OutboxMessage {
  id: string;
  type: string;
  key: string | null;
  data: Json;
}

/**
 * A rehearsal: the attempt `attempt` of `step` (its action, or its compensation) fails with this
 * error instead of running, so a team can watch the compensation before production does it.
 */
export interface FaultDirective {
  step: string;
  attempt: number;
  phase: "forward" | "compensation";
  code: string;
  message: string;
  retryable: boolean;
}

/** A saga started by a step of another saga; its end is signalled to that step. */
export interface ParentRef {
  sagaId: string;
  step: string;
}

/**
 * Everything that happens to a saga is one of these events, appended to its stream in order.
 * `at` is milliseconds since the epoch on the database clock (as calibrated by the worker).
 * Events are stored as JSON; new fields must be optional so old histories still replay.
 */
export type SagaEvent =
  | {
      type: "SagaStarted";
      at: number;
      sagaId: string;
      tenantId: string;
      name: string;
      version: number;
      input: Json;
      idempotencyKey: string | null;
      deadlineAt: number | null;
      /** Carried from the request that started the saga into its log lines (absent in old streams). */
      correlationId?: string | null;
      /** Business keys recorded for search, e.g. `{ orderId: "o-1" }` (absent in old streams). */
      attributes?: JsonObject;
      /** The saga step that started this saga as its child (absent: a top-level saga). */
      parent?: ParentRef | null;
      /** A fault to inject (a rehearsal started it; absent otherwise). */
      fault?: FaultDirective;
      /**
       * The W3C `traceparent` of the request or bus event that started the saga (absent when it
       * came without one): tracing links the saga's trace to it.
       */
      traceparent?: string;
    }
  | { type: "StepStarted"; at: number; step: string; attempt: number }
  | {
      type: "StepCompleted";
      at: number;
      step: string;
      attempt: number;
      result: Json;
      /** The inbox signal that resumed a suspended step (consumed by this commit). */
      signalId?: string;
      /** Events the step publishes, written to the outbox with this event. */
      publish?: OutboxMessage[];
    }
  /**
   * The step waits without holding a worker: until `until` (a durable timer; null = no timer),
   * and/or for a signal (`wait`). A signal completes it (or fails it, for a failed child saga);
   * the timer completes a plain sleep and fails a wait with SAGA_WAIT_TIMEOUT.
   */
  | {
      type: "StepSuspended";
      at: number;
      step: string;
      attempt: number;
      until: number | null;
      wait: WaitSpec | null;
    }
  /** `retryAt` null: the step failed for good. */
  | {
      type: "StepFailed";
      at: number;
      step: string;
      attempt: number;
      error: ErrorInfo;
      retryAt: number | null;
    }
  /** The attempt was stopped from outside (cancel, deadline, a failed sibling branch). */
  | { type: "StepAborted"; at: number; step: string; attempt: number; error: ErrorInfo }
  | { type: "StepSkipped"; at: number; step: string }
  | { type: "SagaCompleted"; at: number }
  | { type: "SagaCompensationStarted"; at: number; reason: CompensationReason; error: ErrorInfo }
  | { type: "StepCompensationStarted"; at: number; step: string; attempt: number }
  | { type: "StepCompensated"; at: number; step: string; attempt: number }
  | {
      type: "StepCompensationFailed";
      at: number;
      step: string;
      attempt: number;
      error: ErrorInfo;
      retryAt: number | null;
    }
  | { type: "SagaCompensated"; at: number }
  /** The saga needs an operator: a compensation failed for good, or a paused forward failure. */
  | { type: "SagaFailed"; at: number; phase: FailedPhase; error: ErrorInfo }
  /** An operator resumed a failed saga; `deadlineAt` replaces the old deadline. */
  | { type: "SagaRetried"; at: number; deadlineAt: number | null };

export type SagaEventType = SagaEvent["type"];

/** An event before the engine stamps it with the time. */
export type EventDraft = SagaEvent extends unknown ? DistributiveOmitAt<SagaEvent> : never;
type DistributiveOmitAt<T> = T extends unknown ? Omit<T, "at"> : never;
