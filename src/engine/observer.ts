import type { SagaEvent } from "../core/events.js";
import type { SagaState } from "../core/state.js";

/**
 * Told of every durable write this process makes: the events just committed for one saga and its
 * state after them. Metrics, logs and live streams hang here; a throwing listener is ignored.
 */
export type CommitListener = (state: SagaState, events: readonly SagaEvent[]) => void;
