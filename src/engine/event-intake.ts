import { createHash } from "node:crypto";
import { ensureError, toErrorInfo } from "../core/errors.js";
import type { Json } from "../core/json.js";
import {
  PartialBatchFailure,
  type BusMessage,
  type EventBus,
  type Subscription,
} from "./bus-port.js";
import type { SagaDefinition, SagaTrigger } from "./definition.js";
import { silentLogger, type Logger } from "./logger.js";
import type { Orchestrator } from "./orchestrator.js";
import type { Store } from "./store-port.js";

export interface EventIntakeOptions {
  bus: EventBus;
  store: Pick<Store, "deliverEvents">;
  orchestrator: Orchestrator;
  /** Consumer group shared by every orchestrator process. Default "saga-orchestrator". */
  group?: string;
  /** This process's member name in the group. Default the orchestrator's workerId. */
  consumer?: string;
  /** Deliveries of a message that keeps failing before the bus dead-letters it. Default 5. */
  maxDeliveries?: number;
  /** Most messages handled together (one delivery statement, starts group-committed). Default 256. */
  batch?: number;
  /** A message held this long by a member that died is handed to another one. Default 30 s. */
  claimIdleMs?: number;
  logger?: Logger;
}

/**
 * Feeds bus events to the orchestrator, in one consumer group across processes:
 * - delivers each event to the steps waiting for it (`ctx.waitForEvent`; the match path reads
 *   the whole message, e.g. `data.user_id`) and wakes their sagas here;
 * - starts the sagas whose definition has a trigger for its type, idempotently: the start's
 *   idempotency key is `event:<event id>:<saga name>`, so a redelivery or a replay of the same
 *   event (same id) starts nothing new.
 * Messages ready together are handled together: one statement delivers them all, and their
 * starts run at once (one group commit). They are acknowledged only after all that is durable. A
 * failure fails only the events it concerns: a trigger's `input` mapping that throws fails its
 * event, and a batch the store refuses is retried event by event, so that the other events of the
 * batch are acknowledged. The bus delivers a failed event again (both steps are idempotent) and,
 * after `maxDeliveries`, moves it to the dead letters with its error; each failure is logged.
 */
export class EventIntake {
  private constructor(
    private readonly options: EventIntakeOptions,
    private readonly logger: Logger,
    private subscription: Subscription | null = null,
  ) {}

  /** Subscribes to the bus and starts handling messages. */
  static async start(options: EventIntakeOptions): Promise<EventIntake> {
    const intake = new EventIntake(options, options.logger ?? silentLogger);
    intake.subscription = await options.bus.subscribeBatch(
      {
        group: options.group ?? "saga-orchestrator",
        consumer: options.consumer ?? options.orchestrator.workerId,
        batch: options.batch ?? 256,
        ...(options.maxDeliveries !== undefined ? { maxDeliveries: options.maxDeliveries } : {}),
        ...(options.claimIdleMs !== undefined ? { claimIdleMs: options.claimIdleMs } : {}),
      },
      (messages) => intake.handle(messages),
    );
    return intake;
  }

  /** Stops reading; the message in hand finishes first (or stays unacknowledged for another member). */
  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.stop();
  }

  /**
   * Handles messages: resolves once their deliveries and starts are durable. Throws a
   * `PartialBatchFailure` naming the messages that failed (the others are done): one message —
   * a trigger mapping that throws, a row the store refuses — never fails the rest of its batch.
   */
  async handle(messages: readonly BusMessage[]): Promise<void> {
    try {
      await this.handleTogether(messages);
    } catch (thrown) {
      if (thrown instanceof PartialBatchFailure || messages.length === 1) throw thrown;
      this.logger.warn(
        { err: toErrorInfo(thrown), count: messages.length },
        "an event batch failed; handling its events one by one",
      );
      const failed = new Map<string, Error>();
      for (const message of messages) {
        try {
          await this.handleTogether([message]);
        } catch (error) {
          const one = error instanceof PartialBatchFailure ? error.failed.get(message.id) : error;
          failed.set(message.id, ensureError(one ?? error));
        }
      }
      if (failed.size > 0) throw new PartialBatchFailure(failed);
    }
  }

  /** Delivers the messages in one statement and starts their triggered sagas at once. */
  private async handleTogether(messages: readonly BusMessage[]): Promise<void> {
    const { orchestrator } = this.options;
    const woken = await this.options.store.deliverEvents(
      messages.map((m) => ({
        id: m.id,
        tenantId: m.tenantId,
        type: m.type,
        body: m as unknown as Json,
      })),
    );
    const byTenant = new Map<string, string[]>();
    for (const { tenantId, sagaId } of woken) {
      const ids = byTenant.get(tenantId) ?? [];
      ids.push(sagaId);
      byTenant.set(tenantId, ids);
    }
    await Promise.all([...byTenant].map(([tenantId, ids]) => orchestrator.wake(tenantId, ids)));

    const failures = await Promise.all(
      messages.flatMap((message) =>
        triggersFor(orchestrator, message).map(async ([definition, trigger]) => {
          const failure = await this.startTriggered(message, definition, trigger);
          return failure === null ? null : { id: message.id, failure };
        }),
      ),
    );
    const failed = new Map<string, Error>();
    for (const f of failures) {
      if (f === null) continue;
      const before = failed.get(f.id);
      failed.set(f.id, new Error(before ? `${before.message}; ${f.failure}` : f.failure));
    }
    if (failed.size > 0) throw new PartialBatchFailure(failed);
  }

  /** Starts the saga of one trigger (idempotently); returns what failed, or null. */
  private async startTriggered(
    message: BusMessage,
    definition: SagaDefinition<unknown>,
    trigger: SagaTrigger,
  ): Promise<string | null> {
    try {
      const input = trigger.input(structuredClone(message)); // a copy: the mapping cannot change it
      const correlationId = message.headers?.["x-correlation-id"];
      const traceparent = message.headers?.traceparent;
      const handle = await this.options.orchestrator.start(definition.name, input, {
        tenantId: message.tenantId,
        version: definition.version,
        idempotencyKey: triggerKey(message.id, definition.name),
        ...(correlationId ? { correlationId } : {}),
        ...(traceparent ? { traceparent } : {}),
      });
      if (handle.created) {
        this.logger.info(
          { sagaId: handle.sagaId, sagaName: definition.name, eventId: message.id },
          "saga started by an event",
        );
      }
      return null;
    } catch (error) {
      const err = toErrorInfo(error);
      this.logger.warn(
        { err, sagaName: definition.name, eventId: message.id, type: message.type },
        "an event trigger failed to start its saga; the event will be delivered again",
      );
      return `event ${message.id} (${message.type}) ${definition.name}: ${err.message}`;
    }
  }
}

/**
 * The latest version of each saga type the event's tenant sees (global ones and its own), where
 * it has a trigger for this event type.
 */
function triggersFor(
  orchestrator: Orchestrator,
  message: BusMessage,
): [SagaDefinition<unknown>, SagaTrigger][] {
  const latest = new Map<string, SagaDefinition<unknown>>();
  for (const d of orchestrator.definitions.all(message.tenantId)) {
    const seen = latest.get(d.name);
    if (!seen || d.version > seen.version) latest.set(d.name, d);
  }
  const out: [SagaDefinition<unknown>, SagaTrigger][] = [];
  for (const d of latest.values()) {
    const trigger = d.triggers.find((t) => t.event === message.type);
    if (trigger) out.push([d, trigger]);
  }
  return out;
}

/**
 * The idempotency key of a saga started by an event: one per (event, saga type), at most 255
 * characters (long ids or names are hashed).
 */
export function triggerKey(eventId: string, sagaName: string): string {
  const key = `event:${eventId}:${sagaName}`;
  if (key.length <= 255) return key;
  return `event:sha256:${createHash("sha256").update(`${eventId}\u0000${sagaName}`).digest("hex")}`;
}
