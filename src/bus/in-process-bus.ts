import { ensureError, ErrorCodes } from "../core/errors.js";
import { cappedBackoff } from "../core/retry.js";
import {
  PartialBatchFailure,
  type BatchHandler,
  type BusMessage,
  type EventBus,
  type MessageHandler,
  type SubscribeOptions,
  type Subscription,
} from "../engine/bus-port.js";
import { type Logger, silentLogger } from "../engine/logger.js";
import { LoopPause } from "../engine/pause.js";
import { busError } from "./bus-errors.js";
import type { DeadLetter } from "./dead-letter.js";
import type { BusStats } from "./bus-stats.js";
import { validMessage } from "./message-codec.js";
import { resolveSubscribeOptions, type ResolvedSubscribeOptions } from "./subscribe-options.js";

export interface InProcessBusOptions {
  /** Delay before a failed message is delivered again, doubled per failure; default 50 ms. */
  retryDelayMs?: number;
  /** Cap of that delay; default 5000 ms. */
  retryMaxDelayMs?: number;
  /** Dead letters kept (the oldest are dropped past it); default 10,000. */
  maxDeadLetters?: number;
  logger?: Logger;
}

interface Delivery {
  message: BusMessage;
  /** Handler calls so far. */
  deliveries: number;
  dueAt: number;
  taken: boolean;
  /** Acknowledged or dead-lettered: gone from the group. */
  removed: boolean;
}

/** A consumer group: its queue (publish order) and the members waiting for work. */
class Group {
  /** Deliveries from `head` on are live; those before it were removed (compacted lazily). */
  private queue: Delivery[] = [];
  private head = 0;
  readonly members = new Set<Member>();

  push(message: BusMessage): void {
    this.queue.push({ message, deliveries: 0, dueAt: 0, taken: false, removed: false });
  }

  /**
   * Up to `max` free deliveries that are due, consecutive in publish order (a message not yet
   * due ends the run, so a retry keeps its place), or how long until one is (null: none waiting).
   */
  take(now: number, max: number): Delivery[] | number | null {
    let nextDue: number | null = null;
    const batch: Delivery[] = [];
    for (let i = this.head; i < this.queue.length && batch.length < max; i++) {
      const d = this.queue[i]!;
      if (d.taken || d.removed) {
        if (batch.length > 0) break;
        continue;
      }
      if (d.dueAt <= now) {
        d.taken = true;
        batch.push(d);
        continue;
      }
      if (batch.length > 0) break;
      nextDue = nextDue === null ? d.dueAt - now : Math.min(nextDue, d.dueAt - now);
    }
    return batch.length > 0 ? batch : nextDue;
  }

  /** Messages not yet acknowledged or dead-lettered: waiting, in hand, or due for a retry. */
  backlog(): number {
    let n = 0;
    for (let i = this.head; i < this.queue.length; i++) if (!this.queue[i]!.removed) n++;
    return n;
  }

  remove(d: Delivery): void {
    d.removed = true;
    while (this.head < this.queue.length && this.queue[this.head]!.removed) this.head++;
    // Drop the removed prefix now and then, not on every removal (a shift is O(queue)).
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  release(d: Delivery, dueAt: number): void {
    d.taken = false;
    d.dueAt = dueAt;
    this.notify();
  }

  notify(): void {
    for (const member of this.members) member.nudge();
  }
}

/**
 * The EventBus inside one process (the embedded default): every group gets every message
 * published after it first subscribed, its members share them, one at a time per member and in
 * publish order. A handler that throws gets the message again after a backoff; after
 * `maxDeliveries` failed deliveries the message goes to `deadLetters`. Nothing survives the
 * process: use RedisStreamsBus when events must outlive it or cross processes.
 */
export class InProcessBus implements EventBus {
  /** Messages given up on, oldest first. */
  readonly deadLetters: DeadLetter[] = [];
  private readonly groups = new Map<string, Group>();
  private readonly members = new Set<Member>();
  private readonly retryDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly maxDeadLetters: number;
  private readonly logger: Logger;
  private closed = false;

  constructor(options: InProcessBusOptions = {}) {
    this.retryDelayMs = options.retryDelayMs ?? 50;
    this.retryMaxDelayMs = options.retryMaxDelayMs ?? 5_000;
    this.maxDeadLetters = options.maxDeadLetters ?? 10_000;
    this.logger = options.logger ?? silentLogger;
  }

  /** Enqueues the messages for every group, in order; resolves once they are queued. */
  publish(messages: readonly BusMessage[]): Promise<void> {
    try {
      this.assertOpen();
      const copies = messages.map(validMessage); // refuses the whole batch before queueing any
      for (const group of this.groups.values()) {
        for (const message of copies) group.push(message);
        group.notify();
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(ensureError(error));
    }
  }

  subscribe(options: SubscribeOptions, handler: MessageHandler): Promise<Subscription> {
    return this.join(
      () => resolveSubscribeOptions(options),
      (messages) => handler(messages[0]!),
    );
  }

  subscribeBatch(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    return this.join(() => resolveSubscribeOptions(options, "batch"), handler);
  }

  private join(
    resolve: () => ResolvedSubscribeOptions,
    handler: BatchHandler,
  ): Promise<Subscription> {
    try {
      this.assertOpen();
      const resolved = resolve();
      let group = this.groups.get(resolved.group);
      if (!group) {
        group = new Group();
        this.groups.set(resolved.group, group);
      }
      const member: Member = new Member(this.care, group, resolved, handler, () =>
        this.members.delete(member),
      );
      this.members.add(member);
      return Promise.resolve(member);
    } catch (error) {
      return Promise.reject(ensureError(error));
    }
  }

  ping(): Promise<void> {
    return this.closed
      ? Promise.reject(busError(ErrorCodes.SAGA_BUS_CLOSED, "the bus is closed"))
      : Promise.resolve();
  }

  /** The oldest `count` dead letters (same shape as RedisStreamsBus.readDeadLetters). */
  /**
   * How many messages `group` has not yet acknowledged or dead-lettered (0 for an unknown group):
   * at 0 nothing of what was published so far can be delivered to that group again.
   */
  backlog(group: string): number {
    return this.groups.get(group)?.backlog() ?? 0;
  }

  /** Dead letters kept and each group's backlog (as pending: nothing here is "not delivered"). */
  stats(): Promise<BusStats> {
    const groups = [...this.groups.keys()].map((group) => ({
      group,
      pending: this.backlog(group),
      lag: 0,
    }));
    return Promise.resolve({ deadLetters: this.deadLetters.length, groups });
  }

  readDeadLetters(count = 100): Promise<DeadLetter[]> {
    return Promise.resolve(this.deadLetters.slice(0, count));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.members].map((m) => m.stop()));
  }

  /** What members need from the bus: backoff, the dead letters, the logger. */
  private readonly care: MemberCare = {
    backoff: (deliveries) =>
      cappedBackoff(deliveries, { baseMs: this.retryDelayMs, maxMs: this.retryMaxDelayMs }),
    bury: (letter) => {
      this.deadLetters.push(letter);
      if (this.deadLetters.length > this.maxDeadLetters) this.deadLetters.shift();
      this.logger.warn(
        { group: letter.group, messageId: letter.message?.id, deliveries: letter.deliveries },
        "bus message moved to the dead letters",
      );
    },
    logger: () => this.logger,
  };

  private assertOpen(): void {
    if (this.closed) throw busError(ErrorCodes.SAGA_BUS_CLOSED, "the bus is closed");
  }
}

interface MemberCare {
  /** Delay before the next delivery after `deliveries` failed ones. */
  backoff(deliveries: number): number;
  bury(letter: DeadLetter): void;
  logger(): Logger;
}

/** One subscription: a loop taking the group's next due message. */
class Member implements Subscription {
  private stopping = false;
  private readonly pause = new LoopPause();
  private readonly done: Promise<void>;

  constructor(
    private readonly care: MemberCare,
    private readonly group: Group,
    private readonly options: ResolvedSubscribeOptions,
    private readonly handler: BatchHandler,
    private readonly onStopped: () => void,
  ) {
    group.members.add(this);
    this.done = this.run();
  }

  nudge(): void {
    this.pause.nudge();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.nudge();
    await this.done;
    this.group.members.delete(this);
    this.onStopped();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const next = this.group.take(Date.now(), this.options.batch);
        if (next === null || typeof next === "number") await this.idle(next);
        else await this.handle(next);
      } catch (thrown) {
        // Last line of defence: nothing a message holds may end the loop (or the process).
        this.care
          .logger()
          .error({ err: ensureError(thrown), group: this.options.group }, "bus member failed");
        await this.idle(this.care.backoff(1));
      }
    }
  }

  /** Waits for a publish, a release, stop(), or `ms` (a retry coming due). */
  private idle(ms: number | null): Promise<void> {
    return this.pause.sleep(ms === null ? null : Math.max(1, ms));
  }

  private async handle(taken: Delivery[]): Promise<void> {
    const batch: Delivery[] = [];
    for (const d of taken) {
      if (this.options.types && !this.options.types.has(d.message.type)) this.group.remove(d);
      else batch.push(d);
    }
    if (batch.length === 0) return;
    for (const d of batch) d.deliveries++;
    try {
      const copies = batch.map((d) => structuredClone(d.message));
      await Promise.resolve().then(() => this.handler(copies));
    } catch (thrown) {
      const err = ensureError(thrown);
      const partial = thrown instanceof PartialBatchFailure ? thrown.failed : null;
      for (const d of batch) {
        const own = partial ? partial.get(d.message.id) : err;
        if (own) this.failed(d, own);
        else this.group.remove(d);
      }
      return;
    }
    for (const d of batch) this.group.remove(d);
  }

  private failed(d: Delivery, err: Error): void {
    const { message } = d;
    const who = { group: this.options.group, consumer: this.options.consumer };
    if (d.deliveries >= this.options.maxDeliveries) {
      this.group.remove(d);
      this.care.bury({
        message: structuredClone(message),
        ...who,
        deliveries: d.deliveries,
        error: err.message,
        deadAt: Date.now(),
      });
    } else {
      const retryInMs = this.care.backoff(d.deliveries);
      this.care
        .logger()
        .warn(
          { err, ...who, messageId: message.id, type: message.type, retryInMs },
          "bus handler failed; the message will be delivered again",
        );
      this.group.release(d, Date.now() + retryInMs);
    }
  }
}
