import { ErrorCodes } from "../core/errors.js";
import type {
  BusMessage,
  EventBus,
  BatchHandler,
  MessageHandler,
  SubscribeOptions,
  Subscription,
} from "../engine/bus-port.js";
import { type Logger, silentLogger } from "../engine/logger.js";
import { busError, isBusError } from "./bus-errors.js";
import type { DeadLetter } from "./dead-letter.js";
import type { BusStats } from "./bus-stats.js";
import { readBusStats } from "./redis-bus-stats.js";
import { RedisDeadLetters } from "./redis-dead-letters.js";
import type { DeadLetterAdmin } from "../engine/dead-letter-port.js";
import { encodeMessage } from "./message-codec.js";
import {
  assertExecOk,
  closeConnection,
  ensureGroup,
  logConnectionState,
  readDeadLetters,
  type StreamKeys,
} from "./redis-commands.js";
import { openRedis, type RedisClient, type RedisClusterOptions } from "./redis-connection.js";
import { keySlot } from "./redis-key-slot.js";
import { RedisStreamsSubscription } from "./redis-subscription.js";
import { resolveSubscribeOptions, type ResolvedSubscribeOptions } from "./subscribe-options.js";

export interface RedisStreamsBusOptions {
  /** One Redis server: `redis://[user:password@]host:port[/db]`. Exactly one of `url`, `cluster`. */
  url?: string;
  /**
   * A Redis Cluster, by seed nodes. Both keys then carry the hash tag `{<keyPrefix><stream>}`
   * (one slot, so a dead letter moves in one MULTI/EXEC): `{saga:events}` and
   * `{saga:events}:dead`. Buses on other streams hash to other slots, on any master.
   */
  cluster?: RedisClusterOptions;
  /** Stream holding the events; default `saga:events`. */
  stream?: string;
  /**
   * Stream receiving dead letters; default `<stream>:dead`. On a cluster: `{<keyPrefix><stream>}:`
   * followed by this name (default `dead`).
   */
  deadLetterStream?: string;
  /** Longest wait of one blocking read (ms); default 2000. stop() does not wait for it. */
  blockMs?: number;
  /** Entries read (and held) per read or claim; default 50. */
  batch?: number;
  /** Prepended to both stream names (tests isolate themselves with it); default none. */
  keyPrefix?: string;
  /** Approximate length cap of both streams (XADD MAXLEN ~); default 1,000,000. */
  maxLength?: number;
  /** How long ping() waits for PONG (ms); default 2000. */
  pingTimeoutMs?: number;
  logger?: Logger;
}

/**
 * The EventBus over Redis Streams: one stream, one consumer group per subscriber group,
 * at-least-once delivery with acknowledgement after the handler, XAUTOCLAIM of entries left by
 * members that died, and a dead-letter stream.
 *
 * What a failure means: a handler that throws gets the message again after `claimIdleMs`
 * (30 s by default, on this or another member), up to `maxDeliveries` times. A handler that runs
 * longer than `claimIdleMs` may see its message handed to another member meanwhile, and
 * `claimIdleMs` must also exceed the time a member takes for one batch. Redis down: publish
 * rejects with SAGA_BUS_UNAVAILABLE after a few reconnect attempts (about a second), read loops
 * wait and resume by themselves. Redis keeps what persistence (AOF/RDB) gave it: without it, a
 * restart loses the entries it held; groups are then recreated and the loops go on.
 *
 * @example
 * const bus = new RedisStreamsBus({ url: "redis://127.0.0.1:6379" });
 * await bus.subscribe({ group: "triggers", consumer: hostname() }, async (m) => start(m));
 * await bus.publish([{ id, type: "order.placed", tenantId, key: orderId, data, occurredAt }]);
 */
export class RedisStreamsBus implements EventBus {
  readonly keys: StreamKeys;
  /** The hash slot of both keys on a cluster; null on a single server. */
  private readonly slot: number | null;
  private readonly command: RedisClient;
  private readonly subscriptions = new Set<RedisStreamsSubscription>();
  private readonly blockMs: number;
  private readonly batch: number;
  private readonly pingTimeoutMs: number;
  private readonly logger: Logger;
  private closed = false;

  constructor(private readonly options: RedisStreamsBusOptions) {
    if ((options.url === undefined) === (options.cluster === undefined))
      throw busError(
        ErrorCodes.SAGA_BUS_INVALID_OPTIONS,
        "give either url or cluster (one of them)",
      );
    if (options.cluster && options.cluster.nodes.length === 0)
      throw busError(ErrorCodes.SAGA_BUS_INVALID_OPTIONS, "cluster needs at least one seed node");
    const prefix = options.keyPrefix ?? "";
    const stream = options.stream ?? "saga:events";
    const maxLength = positiveInt(options.maxLength ?? 1_000_000, "maxLength");
    // Single server: the names as they always were (a tag would orphan the existing streams).
    this.keys = options.cluster
      ? {
          stream: `{${prefix}${stream}}`,
          deadLetterStream: `{${prefix}${stream}}:${options.deadLetterStream ?? "dead"}`,
          maxLength,
        }
      : {
          stream: prefix + stream,
          deadLetterStream: prefix + (options.deadLetterStream ?? `${stream}:dead`),
          maxLength,
        };
    this.slot = options.cluster ? keySlot(this.keys.stream) : null;
    this.blockMs = positiveInt(options.blockMs ?? 2_000, "blockMs");
    this.batch = positiveInt(options.batch ?? 50, "batch");
    this.pingTimeoutMs = positiveInt(options.pingTimeoutMs ?? 2_000, "pingTimeoutMs");
    this.logger = options.logger ?? silentLogger;
    this.command = this.connect("saga-bus", 3);
  }

  /** Appends the messages in order in one MULTI/EXEC; resolves when Redis has applied it. */
  async publish(messages: readonly BusMessage[]): Promise<void> {
    this.assertOpen();
    if (messages.length === 0) return;
    const encoded = messages.map(encodeMessage); // refuses the whole batch before sending any
    const multi = this.command.multi();
    for (const fields of encoded) {
      multi.xadd(this.keys.stream, "MAXLEN", "~", this.keys.maxLength, "*", ...fields);
    }
    let results: Awaited<ReturnType<typeof multi.exec>>;
    try {
      results = await multi.exec();
    } catch (error) {
      throw this.unavailable("publish", error);
    }
    assertExecOk(results, "publish");
  }

  /**
   * Joins (or creates, at the stream's end) the consumer group and starts a read loop on a
   * connection of its own. Rejects with SAGA_BUS_UNAVAILABLE when Redis does not answer.
   */
  async subscribe(options: SubscribeOptions, handler: MessageHandler): Promise<Subscription> {
    this.assertOpen();
    return this.join(resolveSubscribeOptions(options), (messages) => handler(messages[0]!));
  }

  /** As `subscribe`, with up to `options.batch` entries of one read per handler call. */
  async subscribeBatch(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    this.assertOpen();
    return this.join(resolveSubscribeOptions(options, "batch"), handler);
  }

  private async join(
    resolved: ResolvedSubscribeOptions,
    handler: BatchHandler,
  ): Promise<Subscription> {
    try {
      await ensureGroup(this.command, this.keys.stream, resolved.group, "$");
    } catch (error) {
      throw this.unavailable("subscribe", error);
    }
    this.assertOpen();
    const blocking = this.connect(`saga-bus:${resolved.group}:${resolved.consumer}`, null);
    const subscription: RedisStreamsSubscription = new RedisStreamsSubscription(
      {
        keys: this.keys,
        command: this.command,
        blocking,
        slot: this.slot,
        blockMs: this.blockMs,
        batch: Math.max(this.batch, resolved.batch),
        logger: this.logger,
        onStopped: () => this.subscriptions.delete(subscription),
      },
      resolved,
      handler,
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async ping(): Promise<void> {
    this.assertOpen();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.command.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no PONG within ${this.pingTimeoutMs} ms`)),
            this.pingTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      throw this.unavailable("ping", error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The oldest `count` dead letters, for inspection (they stay on the stream). */
  async readDeadLetters(count = 100): Promise<DeadLetter[]> {
    this.assertOpen();
    try {
      return await readDeadLetters(this.command, this.keys.deadLetterStream, count);
    } catch (error) {
      throw this.unavailable("readDeadLetters", error);
    }
  }

  /** Dead letters kept, and per consumer group the pending and not yet delivered entries. */
  async stats(): Promise<BusStats> {
    this.assertOpen();
    try {
      return await readBusStats(this.command, this.keys);
    } catch (error) {
      throw this.unavailable("stats", error);
    }
  }

  /** List, inspect, re-drive and purge the dead letters (one tenant's at a time). */
  deadLetterAdmin(): DeadLetterAdmin {
    return new RedisDeadLetters(this.command, this.keys);
  }

  /** Stops every subscription (their messages in hand finish first), then quits Redis. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await closeConnection(this.command);
  }

  /**
   * `maxRetriesPerRequest`: commands fail after that many reconnect attempts (the shared
   * connection, so that publish reports an outage); null waits for Redis (the read loops).
   */
  private connect(name: string, maxRetriesPerRequest: number | null): RedisClient {
    const redis = openRedis(this.options, name, maxRetriesPerRequest);
    logConnectionState(redis, name, this.logger);
    return redis;
  }

  private assertOpen(): void {
    if (this.closed) throw busError(ErrorCodes.SAGA_BUS_CLOSED, "the bus is closed");
  }

  private unavailable(what: string, error: unknown) {
    if (isBusError(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    return busError(
      ErrorCodes.SAGA_BUS_UNAVAILABLE,
      `${what} failed on ${this.keys.stream}: ${message}`,
      error,
    );
  }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw busError(ErrorCodes.SAGA_BUS_INVALID_OPTIONS, `${name} must be an integer >= 1`);
  return value;
}
