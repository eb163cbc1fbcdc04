import { randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { afterEach } from "vitest";
import type { DeadLetter } from "../../src/bus/dead-letter.js";
import { InProcessBus } from "../../src/bus/in-process-bus.js";
import { RedisStreamsBus } from "../../src/bus/redis-streams-bus.js";
import type { BusMessage, EventBus, MessageHandler } from "../../src/engine/bus-port.js";
import { deleteKeys, rawRedis, TEST_REDIS_URL, uniqueKeyPrefix } from "./redis.js";
import { useRedisCluster } from "./redis-cluster.js";

export interface BusUnderTest {
  bus: EventBus;
  deadLetters(): Promise<DeadLetter[]>;
  /**
   * Messages `group` has not acknowledged yet (unread, in hand, or pending a retry). At 0 nothing
   * published so far can reach that group again: the deterministic form of "nothing more arrives".
   */
  backlog(group: string): Promise<number>;
  /** The Redis stream key (Redis only). */
  stream?: string;
  /** A client of the Redis (or Redis Cluster) the bus is on, for assertions (Redis only). */
  raw?: Redis | Cluster;
}

export interface BusKind {
  name: "in-process" | "redis" | "redis-cluster";
  /** A new bus on its own stream (Redis: a unique key prefix); closed after the test. */
  open(): BusUnderTest;
}

/**
 * Both adapters, and with `cluster` the Redis one on a 3-master Redis Cluster started for the file
 * (see redis-cluster.ts). Buses opened in a test are closed, and their Redis keys deleted, after it.
 */
export function busKinds(options: { cluster?: boolean } = {}): BusKind[] {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
  });
  const cluster = options.cluster ? useRedisCluster() : null;
  /** A Redis bus and the raw client its assertions read through, closed (keys deleted) after the test. */
  const redisHandle = (
    bus: RedisStreamsBus,
    raw: Redis | Cluster,
    deleteOwnKeys: () => Promise<unknown>,
  ): BusUnderTest => {
    cleanups.push(async () => {
      await bus.close();
      await deleteOwnKeys();
      raw.disconnect();
    });
    return {
      bus,
      deadLetters: () => bus.readDeadLetters(),
      backlog: (group) => redisBacklog(raw, bus.keys.stream, group),
      stream: bus.keys.stream,
      raw,
    };
  };
  const clusterKind: BusKind = {
    name: "redis-cluster",
    open: () => {
      if (!cluster) throw new Error("buses were made without { cluster: true }");
      const bus = new RedisStreamsBus({
        cluster: { nodes: cluster().nodes },
        keyPrefix: uniqueKeyPrefix(),
        blockMs: 100,
        batch: 10,
      });
      const raw = cluster().client();
      // A cluster has no KEYS over every slot: the bus's two keys, one by one.
      return redisHandle(bus, raw, async () => {
        await raw.del(bus.keys.stream);
        await raw.del(bus.keys.deadLetterStream);
      });
    },
  };
  return [
    {
      name: "in-process",
      open: () => {
        const bus = new InProcessBus({ retryDelayMs: 20 });
        cleanups.push(() => bus.close());
        return {
          bus,
          deadLetters: () => bus.readDeadLetters(),
          backlog: (group) => Promise.resolve(bus.backlog(group)),
        };
      },
    },
    {
      name: "redis",
      open: () => {
        const keyPrefix = uniqueKeyPrefix();
        const bus = new RedisStreamsBus({
          url: TEST_REDIS_URL,
          keyPrefix,
          blockMs: 100,
          batch: 10,
        });
        const raw = rawRedis();
        return redisHandle(bus, raw, () => deleteKeys(raw, keyPrefix));
      },
    },
    ...(options.cluster ? [clusterKind] : []),
  ];
}

/** Unread entries of the group (XINFO GROUPS lag) plus its pending (delivered, unacknowledged) ones. */
async function redisBacklog(
  redis: Redis | Cluster,
  stream: string,
  group: string,
): Promise<number> {
  const groups = (await redis.call("XINFO", ["GROUPS", stream])) as unknown[][];
  for (const fields of groups) {
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < fields.length; i += 2) info.set(String(fields[i]), fields[i + 1]);
    if (info.get("name") !== group) continue;
    const lag = info.get("lag");
    if (lag === null || lag === undefined) throw new Error(`Redis gave no lag for group ${group}`);
    return Number(info.get("pending")) + Number(lag);
  }
  return 0;
}

let counter = 0;

/** A message with a unique id; `n` goes into data, for telling them apart. */
export function message(n: number, overrides: Partial<BusMessage> = {}): BusMessage {
  counter++;
  return {
    id: `m-${n}-${randomUUID()}`,
    type: "order.placed",
    tenantId: "tenant-a",
    key: n % 2 === 0 ? `order-${n}` : null,
    data: { n, items: [{ sku: "a", qty: counter }], note: n % 3 === 0 ? null : "ünïcødé ✓" },
    occurredAt: 1_700_000_000_000 + n,
    ...(n % 2 === 0 ? { headers: { correlationId: `c-${n}` } } : {}),
    ...overrides,
  };
}

export function messages(from: number, to: number): BusMessage[] {
  const out: BusMessage[] = [];
  for (let n = from; n < to; n++) out.push(message(n));
  return out;
}

/** A handler that records what it is given (after `before`, which may throw). */
export function recorder(before?: (m: BusMessage, calls: number) => Promise<void> | void): {
  handler: MessageHandler;
  seen: BusMessage[];
  ids: () => string[];
  calls: (id: string) => number;
} {
  const seen: BusMessage[] = [];
  const attempts = new Map<string, number>();
  return {
    seen,
    ids: () => seen.map((m) => m.id),
    calls: (id) => attempts.get(id) ?? 0,
    handler: async (m) => {
      const calls = (attempts.get(m.id) ?? 0) + 1;
      attempts.set(m.id, calls);
      await before?.(m, calls);
      seen.push(m);
    },
  };
}
