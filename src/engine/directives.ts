import type { OutboxMessage, WaitSpec } from "../core/events.js";
import type { Json } from "../core/json.js";

/**
 * What a step may return instead of a plain result. The engine records it durably and the step
 * ends without holding a worker:
 * - `Suspend`: the step waits (a durable timer, and/or an event); it completes when the event
 *   arrives (its result is the event) or the timer fires.
 * - `Emit`: the step completes with `result` and publishes `messages` through the outbox, in the
 *   same commit as its completion (exactly the events of completed steps reach the bus).
 */
export class Suspend {
  constructor(
    readonly until: number | null,
    readonly wait: WaitSpec | null,
    /** The child saga this step waits for (its end is signalled to the step). */
    readonly childSagaId: string | null = null,
  ) {}
}

export class Emit {
  constructor(
    readonly messages: readonly OutboxMessage[],
    readonly result: Json,
  ) {}
}
