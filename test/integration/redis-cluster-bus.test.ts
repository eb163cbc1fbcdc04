import { afterEach, describe, expect, it } from "vitest";
import { OutboxRelay } from "../../src/bus/outbox-relay.js";
import { loadConfig } from "../../src/config/config.js";
import { openBus as openServiceBus } from "../../src/service-events.js";
import { keySlot } from "../../src/bus/redis-key-slot.js";
import { RedisStreamsBus, type RedisStreamsBusOptions } from "../../src/bus/redis-streams-bus.js";
import { defineSaga, type SagaDefinition } from "../../src/engine/definition.js";
import { silentLogger } from "../../src/engine/logger.js";
import { stableUuid } from "../../src/engine/step-directives.js";
import { message, recorder } from "../helpers/buses.js";
import { engineHarness } from "../helpers/engine.js";
import { byKey, expectedLifecycle } from "../helpers/events.js";
import { TEST_REDIS_URL, uniqueKeyPrefix } from "../helpers/redis.js";
import { useRedisCluster } from "../helpers/redis-cluster.js";
import { storeKinds } from "../helpers/stores.js";
import { waitUntil } from "../helpers/time.js";

// The Redis Streams bus on a real 3-master Redis Cluster (redis-server processes on free ports):
// where its keys live, and outbox relay -> cluster -> consumer groups, dead letters and stats.

const cluster = useRedisCluster();

const buses: RedisStreamsBus[] = [];
const relays: OutboxRelay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
  await Promise.all(buses.splice(0).map((b) => b.close()));
});

function openBus(options: Partial<RedisStreamsBusOptions> = {}): RedisStreamsBus {
  const bus = new RedisStreamsBus({
    cluster: { nodes: cluster().nodes },
    keyPrefix: uniqueKeyPrefix(),
    blockMs: 100,
    batch: 50,
    ...options,
  });
  buses.push(bus);
  return bus;
}

describe("Redis Cluster: options and configuration", () => {
  it("one server keeps its key names (no tag: existing streams stay where they are)", () => {
    const bus = new RedisStreamsBus({ url: TEST_REDIS_URL, keyPrefix: "p:" });
    buses.push(bus);
    expect(bus.keys).toMatchObject({
      stream: "p:saga:events",
      deadLetterStream: "p:saga:events:dead",
    });
    const custom = new RedisStreamsBus({ url: TEST_REDIS_URL, stream: "s", deadLetterStream: "d" });
    buses.push(custom);
    expect(custom.keys).toMatchObject({ stream: "s", deadLetterStream: "d" });
    const tagged = openBus({ keyPrefix: "p:", stream: "s", deadLetterStream: "d" });
    expect(tagged.keys).toMatchObject({ stream: "{p:s}", deadLetterStream: "{p:s}:d" });
  });

  it("refuses neither or both of url and cluster, and a cluster without seed nodes", () => {
    const cases = [
      {},
      { url: TEST_REDIS_URL, cluster: { nodes: cluster().nodes } },
      { cluster: { nodes: [] } },
    ];
    for (const options of cases) {
      expect(() => new RedisStreamsBus(options)).toThrow(
        expect.objectContaining({ code: "SAGA_BUS_INVALID_OPTIONS" }),
      );
    }
  });

  it("the service opens the cluster bus from REDIS_URL=redis+cluster://host:port,…", async () => {
    const seeds = cluster()
      .nodes.map((n) => `${n.host}:${n.port}`)
      .join(",");
    const config = loadConfig({ REDIS_URL: `redis+cluster://${seeds}` });
    const bus = openServiceBus(config, silentLogger);
    expect(bus).toBeInstanceOf(RedisStreamsBus);
    const redis = bus as RedisStreamsBus;
    buses.push(redis);
    expect(redis.keys.stream).toBe("{saga:events}");
    const got = recorder();
    await bus.subscribe({ group: "service", consumer: "c" }, got.handler);
    const sent = message(1);
    await bus.publish([sent]);
    await waitUntil("delivered", () => got.seen.length === 1);
    expect(got.ids()).toEqual([sent.id]);
    await cluster().client().del(redis.keys.stream, redis.keys.deadLetterStream);
  });
});

describe("Redis Cluster: where the bus keeps its keys", () => {
  it("computes the slot Redis computes (CLUSTER KEYSLOT), hash tags included", async () => {
    const node = cluster().node(cluster().nodes[0]!.port);
    const keys = [
      "saga:events",
      "{saga:events}",
      "{saga:events}:dead",
      "{test:0a1b2c:saga:events}:dead",
      "foo{}{bar}",
      "foo{{bar}}zap",
      "ünïcødé{✓}",
    ];
    for (const key of keys) {
      expect(keySlot(key), key).toBe(Number(await node.call("CLUSTER", ["KEYSLOT", key])));
    }
  });

  it("one bus: stream and dead letters share one slot, on one master", async () => {
    const bus = openBus({ keyPrefix: "", stream: `orders-${uniqueKeyPrefix()}` });
    const { stream, deadLetterStream } = bus.keys;
    expect(stream).toMatch(/^\{orders-test:[0-9a-f]+:\}$/);
    expect(deadLetterStream).toBe(`${stream}:dead`);
    expect(keySlot(deadLetterStream)).toBe(keySlot(stream));
    // A dead letter puts something on both keys (in one MULTI/EXEC, refused across slots).
    await bus.subscribe({ group: "g", consumer: "c", maxDeliveries: 1, claimIdleMs: 100 }, () =>
      Promise.reject(new Error("no")),
    );
    await bus.publish([message(1)]);
    await waitUntil("a dead letter", async () => (await bus.readDeadLetters()).length === 1);
    const owner = cluster().node(await cluster().masterOf(keySlot(stream)));
    expect(await owner.type(stream)).toBe("stream");
    expect(await owner.type(deadLetterStream)).toBe("stream");
    await cluster().client().del(stream, deadLetterStream); // one slot: one DEL may take both
  });

  it("without the tag, the single-server names hash apart and one MULTI over both is refused", async () => {
    const prefix = uniqueKeyPrefix();
    const [plain, plainDead] = [`${prefix}saga:events`, `${prefix}saga:events:dead`];
    expect(keySlot(plain)).not.toBe(keySlot(plainDead));
    const raw = cluster().client();
    await expect(
      raw.multi().xadd(plain, "*", "a", "1").xadd(plainDead, "*", "a", "1").exec(),
    ).rejects.toThrow(/same slot|CROSSSLOT/);
  });

  it("buses on different streams (topics) may live on different masters", async () => {
    const prefix = uniqueKeyPrefix();
    const names = ["orders", "payments", "users", "invoices", "shipments", "emails", "audit"];
    const placed = await Promise.all(
      names.map(async (name) => ({
        name,
        master: await cluster().masterOf(keySlot(`{${prefix}${name}}`)),
      })),
    );
    const first = placed[0]!;
    const other = placed.find((p) => p.master !== first.master);
    expect(other, `streams ${names.join(", ")} all hash to one master`).toBeDefined();
    // Seeded with one node only: the client learns the others from it.
    const seed = { nodes: [cluster().nodes[0]!] };
    const a = openBus({ cluster: seed, keyPrefix: prefix, stream: first.name });
    const b = openBus({ cluster: seed, keyPrefix: prefix, stream: other!.name });
    const gotA = recorder();
    const gotB = recorder();
    await a.subscribe({ group: "g", consumer: "c" }, gotA.handler);
    await b.subscribe({ group: "g", consumer: "c" }, gotB.handler);
    const [mA, mB] = [message(1), message(2)];
    await a.publish([mA]);
    await b.publish([mB]);
    await waitUntil("both delivered", () => gotA.seen.length === 1 && gotB.seen.length === 1);
    expect(gotA.ids()).toEqual([mA.id]);
    expect(gotB.ids()).toEqual([mB.id]);
    // Each stream is on its own master; the other master redirects (MOVED) instead.
    const nodeA = cluster().node(first.master);
    const nodeB = cluster().node(other!.master);
    expect(await nodeA.type(a.keys.stream)).toBe("stream");
    expect(await nodeB.type(b.keys.stream)).toBe("stream");
    await expect(nodeB.type(a.keys.stream)).rejects.toThrow(/^MOVED/);
    await expect(nodeA.type(b.keys.stream)).rejects.toThrow(/^MOVED/);
    const raw = cluster().client();
    await raw.del(a.keys.stream);
    await raw.del(b.keys.stream);
  });
});

describe("Redis Cluster: stop()", () => {
  /** CLIENT UNBLOCK calls a node has served (INFO commandstats). */
  const unblocks = async (port: number) => {
    const stats = await cluster().node(port).info("commandstats");
    return Number(/^cmdstat_client\|unblock:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
  };

  it("releases the blocked read with CLIENT UNBLOCK on the master serving the stream only", async () => {
    const bus = openBus({ blockMs: 60_000 }); // only an unblock ends this read before the test does
    const owner = await cluster().masterOf(keySlot(bus.keys.stream));
    const sub = await bus.subscribe({ group: "g", consumer: "c" }, () => Promise.resolve());
    const blocked = async (port: number) =>
      String(await cluster().node(port).call("CLIENT", ["LIST"])).includes("cmd=xreadgroup");
    await waitUntil("the read is blocked on the owner", () => blocked(owner));
    const ports = cluster().nodes.map((n) => n.port);
    const before = await Promise.all(ports.map(unblocks));
    await sub.stop();
    const after = await Promise.all(ports.map(unblocks));
    expect(ports.map((p, i) => after[i]! - before[i]!)).toEqual(
      ports.map((p) => (p === owner ? 1 : 0)),
    );
    await cluster().client().del(bus.keys.stream);
  });
});

const orderSaga = defineSaga<{ n: number }>({
  name: "cluster_order",
  steps: [
    {
      name: "reserve",
      action: (ctx) =>
        ctx.emit([{ type: "order.reserved", data: { n: ctx.input.n } }], { reserved: true }),
    },
    { name: "charge", action: () => "charged" },
  ],
}) as unknown as SagaDefinition<never>;

describe("Redis Cluster: outbox relay -> bus -> consumer groups", () => {
  const harness = engineHarness(storeKinds().find((k) => k.name === "postgres")!);

  it("delivers every saga's events in order to each group; a poison message is dead-lettered, counted and re-driven", async () => {
    const bus = openBus();
    const watcher = recorder();
    await bus.subscribe({ group: "watcher", consumer: "w1" }, watcher.handler);
    // billing refuses order 5's reservation until it is re-driven.
    let refuse = true;
    const billing = recorder((m) => {
      if (refuse && m.type === "order.reserved" && (m.data as { n: number }).n === 5)
        throw new Error("card service says no");
    });
    for (const consumer of ["b1", "b2"]) {
      await bus.subscribe(
        { group: "billing", consumer, maxDeliveries: 2, claimIdleMs: 200 },
        billing.handler,
      );
    }
    const orchestrator = await harness.orchestrator([orderSaga], { outbox: true });
    const tenant = orchestrator.tenantId;
    const relay = new OutboxRelay({ store: harness.store, bus, idleMs: 20, batchSize: 7 });
    relays.push(relay);
    relay.start();

    const handles = await Promise.all(
      Array.from({ length: 12 }, (_, n) => orchestrator.start("cluster_order", { n })),
    );
    for (const h of handles) expect((await h.result()).status).toBe("completed");
    const expected = new Map<string, { id: string; type: string; seq: number }[]>();
    for (const h of handles) {
      expected.set(h.sagaId, expectedLifecycle(h.sagaId, await orchestrator.events(h.sagaId)));
    }
    const total = [...expected.values()].reduce((a, l) => a + l.length, 0) + handles.length;
    await waitUntil(`${total} messages at the watcher`, () => watcher.seen.length >= total, {
      timeoutMs: 20_000,
    });
    const poisonId = stableUuid(`${handles[5]!.sagaId}:reserve:emit:0`);
    await waitUntil("the dead letter", async () => (await bus.stats()).deadLetters === 1, {
      timeoutMs: 20_000,
    });
    await waitUntil("both groups drained", async () => {
      const { groups } = await bus.stats();
      return groups.length === 2 && groups.every((g) => g.pending === 0 && g.lag === 0);
    });

    // Per saga, in commit order, once each, at the watcher.
    expect(watcher.seen).toHaveLength(total);
    const perSaga = byKey(watcher.seen);
    for (const h of handles) {
      const lifecycle = (perSaga.get(h.sagaId) ?? []).filter((m) => m.type.startsWith("saga."));
      expect(
        lifecycle.map((m) => ({ id: m.id, type: m.type, seq: (m.data as { seq: number }).seq })),
      ).toEqual(expected.get(h.sagaId));
    }
    // The billing group (two members) got everything but the poison message, which it tried twice.
    expect(new Set(billing.ids()).size).toBe(total - 1);
    expect(billing.ids()).not.toContain(poisonId);
    expect(billing.calls(poisonId)).toBe(2);

    const stats = await bus.stats();
    expect(stats.deadLetters).toBe(1);
    expect(stats.groups.map((g) => g.group).sort()).toEqual(["billing", "watcher"]);
    const [letter] = await bus.readDeadLetters();
    expect(letter).toMatchObject({
      group: "billing",
      deliveries: 2,
      message: { id: poisonId, tenantId: tenant, type: "order.reserved" },
    });
    // A member remembers only the errors it saw: the one that moves the letter may not have.
    expect(letter!.error).toMatch(/^(card service says no|not acknowledged after 2 deliveries)$/);

    // Re-drive: XADD to the stream and XDEL from the dead letters in one MULTI/EXEC (one slot).
    const admin = bus.deadLetterAdmin();
    const { items } = await admin.list(tenant, { limit: 10 });
    expect(items.map((i) => i.message?.id)).toEqual([poisonId]);
    refuse = false;
    expect(await admin.redrive(tenant, [items[0]!.id])).toEqual({
      redriven: [items[0]!.id],
      skipped: [],
    });
    await waitUntil("billing handled the re-driven message", () =>
      billing.ids().includes(poisonId),
    );
    await waitUntil("no dead letters left", async () => (await bus.stats()).deadLetters === 0);
    const raw = cluster().client();
    await raw.del(bus.keys.stream, bus.keys.deadLetterStream);
  });
});
