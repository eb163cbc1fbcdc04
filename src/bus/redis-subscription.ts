import type { Redis } from "ioredis";
import { ensureError } from "../core/errors.js";
import { cappedBackoff } from "../core/retry.js";
import {
  PartialBatchFailure,
  type BatchHandler,
  type BusMessage,
  type Subscription,
} from "../engine/bus-port.js";
import type { Logger } from "../engine/logger.js";
import { LoopPause } from "../engine/pause.js";
import { decodeMessage, type Fields } from "./message-codec.js";
import {
  ensureGroup,
  moveToDeadLetters,
  closeConnection,
  assertExecOk,
  type StreamKeys,
} from "./redis-commands.js";
import {
  isNoGroupError,
  parseAutoClaim,
  parsePending,
  parseReadGroup,
  type StreamEntry,
} from "./redis-replies.js";
import type { ResolvedSubscribeOptions } from "./subscribe-options.js";
import { nodeKey, nodeServing, type RedisClient } from "./redis-connection.js";

export interface RedisSubscriptionContext {
  keys: StreamKeys;
  /** Shared connection: acks, claims, dead letters. */
  command: RedisClient;
  /** This subscription's own connection, for the blocking XREADGROUP only. */
  blocking: RedisClient;
  /** The hash slot of the keys on a cluster (where CLIENT ID/UNBLOCK must go); null: one server. */
  slot: number | null;
  blockMs: number;
  batch: number;
  logger: Logger;
  onStopped: () => void;
}

/** How long stop() waits for a blocked read to be released before it cuts the connection. */
const STOP_GRACE_MS = 1_000;
/** Backoff of the read loop after failures in a row (Redis down, the group gone). */
const READ_BACKOFF = { baseMs: 100, maxMs: 5_000 };
/** Last handler errors kept for dead letters (per subscription). */
const MAX_REMEMBERED_ERRORS = 10_000;

/**
 * One member of a consumer group: a loop that reads new entries (XREADGROUP BLOCK on its own
 * connection), claims entries idle longer than `claimIdleMs` (XAUTOCLAIM: members that died,
 * and this member's own failures), calls the handler with up to `batch` consecutive entries in
 * order (1 for `subscribe`) and acknowledges them only after it resolved. An entry delivered more than `maxDeliveries` times, or undecodable, goes to
 * the dead-letter stream. Errors (Redis down, the group gone after Redis lost its data) are
 * logged and retried with backoff; the loop ends only on stop().
 */
export class RedisStreamsSubscription implements Subscription {
  private stopping = false;
  private reading = false;
  /** The node connection the blocking read goes through, and its CLIENT ID there. */
  private blockingNode: Redis | null = null;
  private blockingClientId: number | null = null;
  private readonly pause = new LoopPause();
  private claimCursor = "0-0";
  private nextClaimAt = 0;
  private readonly claimIntervalMs: number;
  private readonly lastErrors = new Map<string, string>();
  private readonly done: Promise<void>;
  private stopped: Promise<void> | null = null;

  constructor(
    private readonly ctx: RedisSubscriptionContext,
    private readonly options: ResolvedSubscribeOptions,
    private readonly handler: BatchHandler,
  ) {
    this.claimIntervalMs = Math.min(5_000, Math.max(50, Math.floor(options.claimIdleMs / 2)));
    this.done = this.run();
  }

  /** Finishes the entries in hand, releases the blocked read and closes the read connection. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.pause.nudge();
    // Same node only: a client id means nothing on another node (of a cluster).
    const unblocker = nodeServing(this.ctx.command, this.ctx.slot);
    if (
      this.reading &&
      this.blockingClientId !== null &&
      this.blockingNode &&
      unblocker &&
      (this.ctx.slot === null || nodeKey(unblocker) === nodeKey(this.blockingNode))
    ) {
      // Makes the blocked XREADGROUP return at once, as if it timed out: no entry is lost.
      unblocker
        .call("CLIENT", ["UNBLOCK", this.blockingClientId, "TIMEOUT"])
        .catch(() => undefined);
    }
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      this.done.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), STOP_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    // Still blocked (Redis down, or the unblock raced the read): cutting the connection fails
    // the read. An entry Redis handed out in that instant stays pending and is claimed later.
    if (!finished) this.ctx.blocking.disconnect();
    await this.done;
    await closeConnection(this.ctx.blocking);
    this.ctx.onStopped();
  }

  private get who() {
    return { group: this.options.group, consumer: this.options.consumer };
  }

  private async run(): Promise<void> {
    let failures = 0;
    let recoverOwn = true;
    while (!this.stopping) {
      try {
        if (recoverOwn) {
          await this.recoverOwnPending();
          recoverOwn = false;
        }
        if (Date.now() >= this.nextClaimAt) await this.claimIdle();
        if (this.stopping) break;
        await this.handleBatch(await this.readNew(), null);
        failures = 0;
      } catch (thrown) {
        if (this.stopping) break;
        failures++;
        const delayMs = cappedBackoff(failures, READ_BACKOFF);
        const err = ensureError(thrown);
        if (isNoGroupError(err)) {
          // Redis lost the stream (restart without persistence) or someone destroyed the group.
          // Recreated from the start of the stream, so entries published since are not missed.
          this.ctx.logger.warn(
            { ...this.who, stream: this.ctx.keys.stream },
            "bus consumer group is gone; recreating it from the start of the stream",
          );
          await ensureGroup(this.ctx.command, this.ctx.keys.stream, this.options.group, "0").catch(
            () => undefined,
          );
        } else {
          this.ctx.logger.warn({ err, ...this.who, retryInMs: delayMs }, "bus read loop failed");
        }
        await this.pause.sleep(delayMs);
      }
    }
  }

  /** New entries for this member, waiting up to blockMs (less when a claim pass is due). */
  private async readNew(): Promise<StreamEntry[]> {
    const { blocking, keys } = this.ctx;
    await this.learnBlockingClientId();
    if (this.stopping) return [];
    const blockMs = Math.max(1, Math.min(this.ctx.blockMs, this.nextClaimAt - Date.now()));
    this.reading = true;
    try {
      const reply = await blocking.call("XREADGROUP", [
        "GROUP",
        this.options.group,
        this.options.consumer,
        "COUNT",
        this.ctx.batch,
        "BLOCK",
        blockMs,
        "STREAMS",
        keys.stream,
        ">",
      ]);
      return parseReadGroup(reply);
    } finally {
      this.reading = false;
    }
  }

  /**
   * The CLIENT ID of the connection the blocking read goes through, asked again when that
   * connection closed or (on a cluster) the keys' slot moved to another node.
   */
  private async learnBlockingClientId(): Promise<void> {
    let node = nodeServing(this.ctx.blocking, this.ctx.slot);
    if (!node) {
      // A cluster client that has not learnt the slots yet: a command on the key waits for them.
      await this.ctx.blocking.call("EXISTS", [this.ctx.keys.stream]);
      node = nodeServing(this.ctx.blocking, this.ctx.slot);
    }
    if (node !== this.blockingNode) {
      this.blockingNode = node;
      this.blockingClientId = null;
      node?.on("close", () => {
        if (this.blockingNode === node) this.blockingClientId = null;
      });
    }
    if (node && this.blockingClientId === null)
      this.blockingClientId = Number(await node.call("CLIENT", ["ID"]));
  }

  /** Entries this member name left pending before (a previous process with the same name). */
  private async recoverOwnPending(): Promise<void> {
    let from = "0";
    while (!this.stopping) {
      const reply = await this.ctx.command.call("XREADGROUP", [
        "GROUP",
        this.options.group,
        this.options.consumer,
        "COUNT",
        this.ctx.batch,
        "STREAMS",
        this.ctx.keys.stream,
        from,
      ]);
      const entries = parseReadGroup(reply);
      const last = entries.at(-1);
      if (!last) return;
      await this.handleBatch(entries, await this.deliveryCounts(entries));
      from = last.id;
    }
  }

  /** One XAUTOCLAIM pass over entries idle longer than claimIdleMs, on any member. */
  private async claimIdle(): Promise<void> {
    const reply = await this.ctx.command.call("XAUTOCLAIM", [
      this.ctx.keys.stream,
      this.options.group,
      this.options.consumer,
      this.options.claimIdleMs,
      this.claimCursor,
      "COUNT",
      this.ctx.batch,
    ]);
    const { next, entries, deleted } = parseAutoClaim(reply);
    this.claimCursor = next;
    // More to scan: go on after this batch; otherwise wait for the next pass.
    this.nextClaimAt = next === "0-0" ? Date.now() + this.claimIntervalMs : 0;
    for (const id of deleted) this.lastErrors.delete(id);
    if (entries.length === 0) return;
    this.ctx.logger.debug({ ...this.who, count: entries.length }, "bus claimed idle entries");
    await this.handleBatch(entries, await this.deliveryCounts(entries));
  }

  /** Delivery counts (this delivery included) of entries this member holds, from XPENDING. */
  private async deliveryCounts(entries: readonly StreamEntry[]): Promise<Map<string, number>> {
    const pipeline = this.ctx.command.pipeline();
    for (const { id } of entries) {
      pipeline.call("XPENDING", this.ctx.keys.stream, this.options.group, id, id, 1);
    }
    const results = await pipeline.exec();
    assertExecOk(results, "XPENDING");
    const counts = new Map<string, number>();
    for (const [, reply] of results ?? []) {
      for (const pending of parsePending(reply)) counts.set(pending.id, pending.deliveries);
    }
    return counts;
  }

  /**
   * Handles entries in order. `counts` null: first deliveries (XREADGROUP >). An entry missing
   * from `counts` is no longer pending (acknowledged meanwhile) and is skipped.
   */
  private async handleBatch(
    entries: readonly StreamEntry[],
    counts: Map<string, number> | null,
  ): Promise<void> {
    const ackUnseen: string[] = [];
    const work: { id: string; fields: Fields; message: BusMessage; deliveries: number }[] = [];
    for (const { id, fields } of entries) {
      const deliveries = counts ? counts.get(id) : 1;
      if (deliveries === undefined) continue;
      if (fields === null) {
        ackUnseen.push(id); // trimmed from the stream while pending: nothing left to deliver
        continue;
      }
      let message: BusMessage;
      try {
        message = decodeMessage(fields);
      } catch (error) {
        await this.deadLetter({ id, fields }, deliveries, ensureError(error).message);
        continue;
      }
      if (this.options.types && !this.options.types.has(message.type)) ackUnseen.push(id);
      else work.push({ id, fields, message, deliveries });
    }
    if (ackUnseen.length > 0) await this.ack(ackUnseen);
    let chunk: { id: string; message: BusMessage }[] = [];
    for (const item of work) {
      if (item.deliveries > this.options.maxDeliveries) {
        await this.deliver(chunk); // the entries before it go first: order is kept
        chunk = [];
        const error =
          this.lastErrors.get(item.id) ??
          `not acknowledged after ${item.deliveries - 1} deliveries`;
        await this.deadLetter(item, item.deliveries, error);
        continue;
      }
      chunk.push(item);
      if (chunk.length >= this.options.batch) {
        await this.deliver(chunk);
        chunk = [];
      }
    }
    await this.deliver(chunk);
  }

  private async deliver(chunk: readonly { id: string; message: BusMessage }[]): Promise<void> {
    if (chunk.length === 0) return;
    try {
      const messages = chunk.map((c) => c.message);
      await Promise.resolve().then(() => this.handler(messages));
    } catch (thrown) {
      const err = ensureError(thrown);
      const partial = thrown instanceof PartialBatchFailure ? thrown.failed : null;
      const done: string[] = [];
      for (const { id, message } of chunk) {
        const own = partial ? partial.get(message.id) : err;
        if (own) this.rememberError(id, own.message);
        else done.push(id);
      }
      const first = chunk[0]!.message;
      this.ctx.logger.warn(
        {
          err,
          ...this.who,
          messageId: first.id,
          type: first.type,
          count: chunk.length - done.length,
        },
        "bus handler failed; the message stays pending and is delivered again after claimIdleMs",
      );
      if (done.length > 0) {
        for (const id of done) this.lastErrors.delete(id);
        await this.ack(done); // only the failed messages of the batch stay pending
      }
      return;
    }
    for (const { id } of chunk) this.lastErrors.delete(id);
    await this.ack(chunk.map((c) => c.id));
  }

  private async ack(ids: readonly string[]): Promise<void> {
    await this.ctx.command.call("XACK", [this.ctx.keys.stream, this.options.group, ...ids]);
  }

  /** `deliveries` counts the pass that moves it; the letter records the deliveries before it. */
  private async deadLetter(
    entry: { id: string; fields: Fields },
    deliveries: number,
    error: string,
  ): Promise<void> {
    await moveToDeadLetters(this.ctx.command, this.ctx.keys, entry, {
      ...this.who,
      deliveries: deliveries - 1,
      error,
    });
    this.lastErrors.delete(entry.id);
    this.ctx.logger.warn(
      { ...this.who, entryId: entry.id, deliveries: deliveries - 1, error },
      "bus message moved to the dead-letter stream",
    );
  }

  private rememberError(entryId: string, message: string): void {
    this.lastErrors.delete(entryId);
    this.lastErrors.set(entryId, message);
    if (this.lastErrors.size > MAX_REMEMBERED_ERRORS) {
      const oldest = this.lastErrors.keys().next();
      if (!oldest.done) this.lastErrors.delete(oldest.value);
    }
  }
}
