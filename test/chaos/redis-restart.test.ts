import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisStreamsBus } from "../../src/bus/redis-streams-bus.js";
import { message, messages, recorder } from "../helpers/buses.js";
import { waitUntil } from "../helpers/time.js";
import { assertRedisAnswers, rawRedis, uniqueKeyPrefix } from "../helpers/redis.js";
import { RedisServer } from "../../chaos/lib/redis-server.js";

// Redis shut down (`redis-cli shutdown nosave`) and started again under a live subscriber.
// The restarted server is this file's own redis-server on a free port, not the shared one on
// 6379: other test files use that one at the same time and must not lose their data.

interface LogLine {
  level: string;
  message: string;
}
const lines: LogLine[] = [];
const at = (level: string) => (_fields: object, message: string) => lines.push({ level, message });
const logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };

let server: RedisServer;
const buses: RedisStreamsBus[] = [];

beforeAll(async () => {
  await assertRedisAnswers(); // the suite needs Redis (and redis-server) installed and running
  server = await RedisServer.create();
  await server.start();
});

afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
  await server.dispose(); // stops this file's redis-server, whatever the test left it in
});

describe("Redis restart (chaos)", () => {
  it("subscribers recover by themselves; what Redis held is lost, what comes after is delivered", async () => {
    const keyPrefix = uniqueKeyPrefix();
    const options = { url: server.url, keyPrefix, blockMs: 200, logger };
    const publisher = new RedisStreamsBus(options);
    const consumer = new RedisStreamsBus(options);
    buses.push(publisher, consumer);

    const live = recorder();
    await consumer.subscribe({ group: "live", consumer: "c1", claimIdleMs: 1_000 }, live.handler);
    // A group whose member is away: its entries wait, unread, in Redis.
    const idle = recorder();
    await (await consumer.subscribe({ group: "idle", consumer: "c1" }, idle.handler)).stop();

    const before = messages(0, 10);
    await publisher.publish(before);
    await waitUntil("before the restart", () => live.seen.length >= 10);

    await server.shutdown();
    expect(await server.answers()).toBe(false);
    // While Redis is down, publish fails after a few reconnect attempts (the caller, e.g. the
    // outbox relay, keeps its rows and retries) and ping reports the outage.
    await expect(publisher.publish([message(99)])).rejects.toMatchObject({
      code: "SAGA_BUS_UNAVAILABLE",
    });
    await expect(consumer.ping()).rejects.toMatchObject({ code: "SAGA_BUS_UNAVAILABLE" });

    await server.start();
    // Redis here keeps nothing on disk (--save "" --appendonly no), so the stream, its groups
    // and the "idle" group's 10 unread entries died with it: that is what a restart without
    // persistence means, and nothing in the bus can bring them back.
    const redis = rawRedis(server.url);
    try {
      expect(await redis.xlen(consumer.keys.stream)).toBe(0);
    } finally {
      redis.disconnect();
    }

    // Messages published after Redis returned are delivered, to the live subscriber without any
    // restart of it (its loop recreates the lost group), and to a member of the idle group that
    // joins now.
    await consumer.subscribe({ group: "idle", consumer: "c2" }, idle.handler);
    const after = messages(10, 20);
    await publisher.publish(after);
    await waitUntil("after the restart", () => live.seen.length >= 20, { timeoutMs: 20_000 });
    await waitUntil("idle group after the restart", () => idle.seen.length >= 10, {
      timeoutMs: 20_000,
    });

    expect(live.ids()).toEqual([...before, ...after].map((m) => m.id));
    expect(idle.ids()).toEqual(after.map((m) => m.id));
    await consumer.ping();
    expect(lines.some((l) => l.message.includes("consumer group is gone"))).toBe(true);
  });
});
