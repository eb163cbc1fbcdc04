import { afterAll, describe, expect, it } from "vitest";
import { RedisServer, type RedisPersistence } from "../../chaos/lib/redis-server.js";
import { freePort } from "../../chaos/lib/rng.js";
import { RedisStreamsBus } from "../../src/bus/redis-streams-bus.js";
import { messages, recorder } from "../helpers/buses.js";
import { waitUntil } from "../helpers/time.js";
import { uniqueKeyPrefix } from "../helpers/redis.js";

// kill -9 of a redis-server of the test's own (never the shared one) while a consumer group has
// entries it has not read yet: what comes back depends on the persistence, exactly as the README
// says. AOF with appendfsync always: all of them. No persistence: none of them.
const servers: RedisServer[] = [];
const buses: RedisStreamsBus[] = [];
afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
  await Promise.all(servers.map((s) => s.dispose()));
});

describe.each<[RedisPersistence, number]>([
  ["aof", 20],
  ["none", 0],
])("Redis kill -9 with persistence %s", (persistence, survivors) => {
  it(`unread entries after the restart: ${survivors} of 20`, { timeout: 90_000 }, async () => {
    const server = new RedisServer(await freePort(), persistence);
    servers.push(server);
    await server.start();
    const options = { url: server.url, keyPrefix: uniqueKeyPrefix(), blockMs: 200 };
    const bus = new RedisStreamsBus(options);
    buses.push(bus);
    // The group exists, its member is away: the 20 entries wait unread (relayed, not consumed).
    const away = recorder();
    await (await bus.subscribe({ group: "g", consumer: "c1" }, away.handler)).stop();
    const sent = messages(0, 20);
    await bus.publish(sent);

    await server.kill();
    await server.start();

    // What Redis holds for the group after the restart, before anyone reads.
    const { Redis } = await import("ioredis");
    const raw = new Redis(server.url);
    try {
      expect(await raw.xlen(bus.keys.stream)).toBe(survivors);
    } finally {
      raw.disconnect();
    }
    if (survivors > 0) {
      // And the group still has them unread: a new member gets all of them, in order.
      const back = recorder();
      const reader = new RedisStreamsBus(options);
      buses.push(reader);
      await reader.subscribe({ group: "g", consumer: "c2", claimIdleMs: 500 }, back.handler);
      await waitUntil("entries after the restart", () => back.seen.length >= survivors, {
        timeoutMs: 30_000,
      });
      expect(back.ids()).toEqual(sent.map((m) => m.id));
    }
  });
});
