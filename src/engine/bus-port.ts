import { ErrorCodes, SagaError } from "../core/errors.js";
import type { Json } from "../core/json.js";

/** One domain event on the bus. `id` is stable: a redelivery or a replay carries the same id. */
export interface BusMessage {
  id: string;
  type: string;
  tenantId: string;
  /** What the event is about (a saga id, an order id…): consumers may order or match by it. */
  key: string | null;
  data: Json;
  /** Epoch milliseconds when the event happened. */
  occurredAt: number;
  /** Optional metadata (correlation id, source…), strings only. */
  headers?: Record<string, string>;
}

export interface SubscribeOptions {
  /** Consumer group: every group gets every message once; members of a group share them. */
  group: string;
  /** This member's name within the group (unique per process). */
  consumer: string;
  /** Only these event types (all when omitted). Others are acknowledged unseen. */
  types?: readonly string[];
  /** Deliveries of one message before it goes to the dead-letter stream. Default 5. */
  maxDeliveries?: number;
  /** A message pending this long on a member that stopped is claimed by another. Default 30 s. */
  claimIdleMs?: number;
  /** `subscribeBatch` only: most messages per handler call (1 to 1000). Default 100. */
  batch?: number;
}

/** Handles one message; resolving acknowledges it, throwing leaves it for redelivery. */
export type MessageHandler = (message: BusMessage) => Promise<void>;

/**
 * Handles consecutive messages at once, in order (one statement for many, say); resolving
 * acknowledges them all, throwing leaves them all for redelivery — except a `PartialBatchFailure`,
 * which names the only messages that failed: the others are acknowledged.
 */
export type BatchHandler = (messages: readonly BusMessage[]) => Promise<void>;

export interface Subscription {
  /** Stops reading; messages in hand finish first. */
  stop(): Promise<void>;
}

/**
 * The EventBus port: at-least-once delivery, acknowledged only after the handler's effect is
 * durable, per-publisher order kept. Adapters: Redis Streams (many processes) and in-process.
 */
export interface EventBus {
  /** Appends messages in the given order; resolves when the bus has them durably. */
  publish(messages: readonly BusMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions, handler: MessageHandler): Promise<Subscription>;
  /** As `subscribe`, handing over up to `options.batch` messages that are ready at once. */
  subscribeBatch(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription>;
  /** Is the bus reachable (for /health)? */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Thrown by a batch handler when only some messages of the batch failed (a trigger mapping that
 * throws, a row the store refuses): the bus acknowledges the others and delivers again — then
 * dead-letters — only these, each with its own error. Keyed by message id.
 */
export class PartialBatchFailure extends SagaError {
  override readonly name = "PartialBatchFailure";
  constructor(readonly failed: ReadonlyMap<string, Error>) {
    super(
      ErrorCodes.SAGA_BUS_PARTIAL_BATCH,
      `${failed.size} message(s) of the batch failed: ${[...failed]
        .slice(0, 3)
        .map(([id, e]) => `${id}: ${e.message}`)
        .join("; ")}`,
    );
  }
}
