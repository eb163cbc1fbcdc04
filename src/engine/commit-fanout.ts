import { toErrorInfo } from "../core/errors.js";
import type { SagaEvent } from "../core/events.js";
import type { SagaState } from "../core/state.js";
import type { Logger } from "./logger.js";
import type { CommitListener } from "./observer.js";

/**
 * Hands every durable write of this process to the listeners (logs, metrics, live streams, child
 * sagas); a listener that throws is logged and the others still hear of the write.
 */
export class CommitFanout {
  private readonly listeners = new Set<CommitListener>();

  constructor(private readonly logger: Logger) {}

  /** Returns the function that stops listening. */
  add(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  committed(state: SagaState, events: readonly SagaEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(state, events);
      } catch (error) {
        this.logger.warn({ err: toErrorInfo(error) }, "a commit listener threw; ignored");
      }
    }
  }
}
