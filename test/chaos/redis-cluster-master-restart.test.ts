import { describe, expect, it } from "vitest";
import { keySlot } from "../../src/bus/redis-key-slot.js";
import { RedisStreamsBus } from "../../src/bus/redis-streams-bus.js";
import { message, recorder } from "../helpers/buses.js";
import { useRedisCluster } from "../helpers/redis-cluster.js";
import { waitUntil } from "../helpers/time.js";

// The master serving the bus's stream is stopped and started again (no persistence: it comes
// back empty) under a live publisher and subscriber, on a 3-master cluster of this file's own.

const cluster = useRedisCluster();

describe("Redis Cluster: the stream's master restarts", () => {
  it("publish fails while it is down, and publishing and reading resume once it is back", async () => {
    const bus = new RedisStreamsBus({ cluster: { nodes: cluster().nodes }, blockMs: 200 });
    try {
      const got = recorder();
      await bus.subscribe({ group: "g", consumer: "c", claimIdleMs: 500 }, got.handler);
      const before = message(1);
      await bus.publish([before]);
      await waitUntil("delivered before the restart", () => got.seen.length === 1);

      const owner = await cluster().masterOf(keySlot(bus.keys.stream));
      await cluster().stopNode(owner);
      await expect(bus.publish([message(2)])).rejects.toMatchObject({
        code: "SAGA_BUS_UNAVAILABLE",
      });
      await cluster().startNode(owner);

      // The relay's way: try again until Redis takes it. Only accepted publishes must arrive.
      const accepted: string[] = [];
      await waitUntil(
        "a publish accepted after the restart",
        async () => {
          const m = message(3);
          await bus.publish([m]);
          accepted.push(m.id);
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 200, retryErrors: true },
      );
      // The group went with the master's data: the subscriber recreates it from the start.
      await waitUntil("delivered after the restart", () => got.seen.length === 2, {
        timeoutMs: 30_000,
      });
      expect(got.ids()).toEqual([before.id, ...accepted]);
    } finally {
      await bus.close();
    }
  });
});
