import { ErrorCodes, errorInfo } from "../core/errors.js";
import type { ParentRef } from "../core/events.js";
import { isSettled, stepResults, type SagaState } from "../core/state.js";
import type { ParentSignal } from "./store-port.js";

/** What a runner needs to start and undo the child sagas of its `saga` steps. */
export interface ChildSagaPort {
  /** Starts (or finds, idempotently) the child saga of a step; returns its id. */
  start(
    parent: ParentRef,
    state: SagaState,
    type: string,
    input: unknown,
    version?: number,
  ): Promise<string>;
  /** Compensates a completed child saga and waits for the outcome (throws if it fails). */
  compensate(tenantId: string, sagaId: string, signal: AbortSignal): Promise<void>;
}

/** The idempotency key of the child saga a parent's step starts: one child per step. */
export function childKey(parent: ParentRef): string {
  return `${parent.sagaId}:${parent.step}`;
}

/** What a child saga that ended tells its parent's step (null: not a child, or not ended). */
export function parentSignal(state: SagaState): ParentSignal | null {
  if (!state.parent || !isSettled(state.status)) return null;
  const payload = {
    sagaId: state.id,
    sagaType: state.name,
    status: state.status,
    results: stepResults(state),
  };
  if (state.status === "completed") return { payload, error: null };
  const cause = state.error ? `: ${state.error.message}` : "";
  return {
    payload,
    error: errorInfo(
      ErrorCodes.SAGA_CHILD_FAILED,
      `child saga ${state.id} (${state.name}) ended ${state.status}${cause}`,
      false,
    ),
  };
}
