import { beforeAll, describe, expect, it } from "vitest";
import type { BusMessage } from "../../src/engine/bus-port.js";
import { busKinds, message, messages, recorder, type BusUnderTest } from "../helpers/buses.js";
import { sleep, waitUntil } from "../helpers/time.js";
import { assertRedisAnswers } from "../helpers/redis.js";

// One suite for every EventBus adapter: in-process, Redis Streams on one server, and Redis Streams
// on a 3-master Redis Cluster started for this file (redis-server processes on free ports).
const kinds = busKinds({ cluster: true });

beforeAll(async () => {
  await assertRedisAnswers();
});

const ids = (list: readonly BusMessage[]) => list.map((m) => m.id);

/** Every message published so far is acknowledged by `group`: none can arrive there again. */
const drained = (under: BusUnderTest, group = "g") =>
  waitUntil(
    `group ${group} acknowledged everything`,
    async () => (await under.backlog(group)) === 0,
  );

describe.each(kinds)("EventBus conformance: $name", (kind) => {
  it("delivers every message of each publish call in order, unchanged", async () => {
    const { bus } = kind.open();
    const got = recorder();
    await bus.subscribe({ group: "g", consumer: "c1" }, got.handler);
    const first = messages(0, 5);
    const second = messages(5, 12);
    await bus.publish(first);
    await bus.publish(second);
    await waitUntil("12 messages", () => got.seen.length >= 12);
    expect(got.seen).toStrictEqual([...first, ...second]);
  });

  it("gives every message to each group", async () => {
    const { bus } = kind.open();
    const g1 = recorder();
    const g2 = recorder();
    await bus.subscribe({ group: "g1", consumer: "c" }, g1.handler);
    await bus.subscribe({ group: "g2", consumer: "c" }, g2.handler);
    const sent = messages(0, 20);
    await bus.publish(sent);
    await waitUntil("both groups", () => g1.seen.length >= 20 && g2.seen.length >= 20);
    expect(g1.ids()).toEqual(ids(sent));
    expect(g2.ids()).toEqual(ids(sent));
  });

  it("shares a group's messages between its members without duplicates", async () => {
    const under = kind.open();
    const { bus } = under;
    // Each member's calls wait until the other member has been called too: proves they share.
    const called = { a: 0, b: 0 };
    const a = recorder(async () => {
      called.a++;
      await waitUntil("b called", () => called.b > 0);
    });
    const b = recorder(async () => {
      called.b++;
      await waitUntil("a called", () => called.a > 0);
    });
    const sent = messages(0, 40);
    await bus.subscribe({ group: "g", consumer: "a" }, a.handler);
    await bus.subscribe({ group: "g", consumer: "b" }, b.handler);
    await bus.publish(sent);
    await waitUntil("40 handled", () => a.seen.length + b.seen.length >= 40);
    await drained(under);
    const all = [...a.ids(), ...b.ids()];
    expect(new Set(all).size).toBe(40);
    expect(all).toHaveLength(40);
    expect(a.seen.length).toBeGreaterThan(0);
    expect(b.seen.length).toBeGreaterThan(0);
    // Each member still sees its share in publish order.
    const order = ids(sent);
    for (const got of [a.ids(), b.ids()]) {
      expect([...got].sort((x, y) => order.indexOf(x) - order.indexOf(y))).toEqual(got);
    }
  });

  it("acknowledges only after the handler: a handler that throws gets the message again", async () => {
    const under = kind.open();
    const { bus } = under;
    const sent = messages(0, 5);
    const flaky = sent[2]!;
    const got = recorder((m, calls) => {
      if (m.id === flaky.id && calls === 1) throw new Error("transient");
    });
    await bus.subscribe({ group: "g", consumer: "c", claimIdleMs: 300 }, got.handler);
    await bus.publish(sent);
    await waitUntil("all handled", () => got.seen.length >= 5);
    await drained(under); // the retry was acknowledged: no third delivery can come
    expect(got.calls(flaky.id)).toBe(2);
    expect([...got.ids()].sort()).toEqual(ids(sent).sort());
    for (const m of sent) if (m !== flaky) expect(got.calls(m.id)).toBe(1);
  });

  it("moves a message to the dead letters after maxDeliveries failed deliveries", async () => {
    const under: BusUnderTest = kind.open();
    const poison = message(7, { type: "order.poison" });
    const fine = messages(0, 3);
    const got = recorder((m) => {
      if (m.id === poison.id) throw new Error("cannot handle this one");
    });
    await under.bus.subscribe(
      { group: "g", consumer: "c", maxDeliveries: 3, claimIdleMs: 200 },
      got.handler,
    );
    await under.bus.publish([fine[0]!, poison, fine[1]!, fine[2]!]);
    await waitUntil("a dead letter", async () => (await under.deadLetters()).length > 0);
    await drained(under); // moved and acknowledged: no further delivery
    const letters = await under.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      message: poison,
      group: "g",
      consumer: "c",
      deliveries: 3,
      error: "cannot handle this one",
    });
    expect(letters[0]!.message).toStrictEqual(poison);
    expect(got.calls(poison.id)).toBe(3);
    expect(got.ids()).toEqual(ids(fine));
  });

  it("subscribeBatch: hands over messages ready together, in order, at most `batch` at a time", async () => {
    const under = kind.open();
    const { bus } = under;
    const batches: BusMessage[][] = [];
    const sent = messages(0, 30);
    let published = false;
    // The first call waits until all are published: the next reads find many messages ready.
    await bus.subscribeBatch({ group: "g", consumer: "c", batch: 8 }, async (got) => {
      batches.push([...got]);
      await waitUntil("all published", () => published);
    });
    await bus.publish(sent.slice(0, 1));
    await waitUntil("the first call", () => batches.length > 0);
    await bus.publish(sent.slice(1));
    published = true;
    await waitUntil("30 handled", () => batches.flat().length >= 30);
    await drained(under);
    expect(batches.flat()).toStrictEqual(sent);
    expect(Math.max(...batches.map((b) => b.length))).toBe(8);
    expect(batches.every((b) => b.length >= 1 && b.length <= 8)).toBe(true);
  });

  it("subscribeBatch: a handler that throws gets the whole batch again, then acknowledges it", async () => {
    const under = kind.open();
    const { bus } = under;
    const sent = messages(0, 5);
    let calls = 0;
    const handled: BusMessage[] = [];
    await bus.subscribeBatch({ group: "g", consumer: "c", batch: 10, claimIdleMs: 300 }, (got) => {
      calls++;
      if (calls === 1) return Promise.reject(new Error("transient"));
      handled.push(...got);
      return Promise.resolve();
    });
    await bus.publish(sent);
    await waitUntil("all handled", () => handled.length >= 5);
    await drained(under); // acknowledged: no third call can come
    expect(handled).toStrictEqual(sent);
    expect(calls).toBe(2);
  });

  it("subscribeBatch refuses a batch size outside 1..1000", async () => {
    const { bus } = kind.open();
    for (const batch of [0, 1001, 2.5]) {
      await expect(
        bus.subscribeBatch({ group: "g", consumer: "c", batch }, () => Promise.resolve()),
      ).rejects.toMatchObject({ code: "SAGA_BUS_INVALID_OPTIONS" });
    }
  });

  it("gives a subscription only its types and acknowledges the others unseen", async () => {
    const under = kind.open();
    const { bus } = under;
    const wanted = recorder();
    const first = await bus.subscribe(
      { group: "g", consumer: "c1", types: ["order.placed"] },
      wanted.handler,
    );
    const sent = [
      message(1),
      message(2, { type: "order.cancelled" }),
      message(3),
      message(4, { type: "order.shipped" }),
    ];
    await bus.publish(sent);
    await waitUntil("two placed", () => wanted.seen.length >= 2);
    await drained(under); // the other types were acknowledged, not left for another member
    await first.stop();
    expect(wanted.ids()).toEqual([sent[0]!.id, sent[2]!.id]);
    // The other types were acknowledged: a member without a filter does not get them again.
    const everything = recorder();
    await bus.subscribe({ group: "g", consumer: "c2", claimIdleMs: 200 }, everything.handler);
    const sentinel = message(5, { type: "order.cancelled" });
    await bus.publish([sentinel]);
    await waitUntil("sentinel", () => everything.seen.length >= 1);
    await drained(under);
    expect(everything.ids()).toEqual([sentinel.id]);
  });

  it("after stop() a new member of the group continues where the group left off", async () => {
    const under = kind.open();
    const { bus } = under;
    const before = recorder();
    const sub = await bus.subscribe({ group: "g", consumer: "old" }, before.handler);
    const early = messages(0, 5);
    await bus.publish(early);
    await waitUntil("early", () => before.seen.length >= 5);
    await sub.stop();
    const late = messages(5, 10);
    await bus.publish(late); // nobody is reading now: the group keeps them
    const after = recorder();
    await bus.subscribe({ group: "g", consumer: "new" }, after.handler);
    await waitUntil("late", () => after.seen.length >= 5);
    await drained(under);
    expect(before.ids()).toEqual(ids(early));
    expect(after.ids()).toEqual(ids(late));
  });

  it("stop() lets the message in hand finish and acknowledges it", async () => {
    const under = kind.open();
    const { bus } = under;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = recorder(() => gate);
    const sub = await bus.subscribe({ group: "g", consumer: "c1" }, slow.handler);
    const held = message(1);
    await bus.publish([held]);
    await waitUntil("in hand", () => slow.calls(held.id) === 1);
    let stopped = false;
    const stopping = sub.stop().then(() => (stopped = true));
    // stop() cannot resolve while the handler holds the message; give it the chance to be wrong.
    await sleep(100);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(slow.ids()).toEqual([held.id]);
    const next = recorder();
    await bus.subscribe({ group: "g", consumer: "c2", claimIdleMs: 200 }, next.handler);
    const sentinel = message(2);
    await bus.publish([sentinel]);
    await waitUntil("sentinel", () => next.seen.length >= 1);
    await drained(under); // the held message was acknowledged by stop(): c2 never gets it
    expect(next.ids()).toEqual([sentinel.id]);
  });

  it("refuses a batch holding a message that is not JSON, publishing none of it", async () => {
    const under = kind.open();
    const { bus } = under;
    const got = recorder();
    await bus.subscribe({ group: "g", consumer: "c" }, got.handler);
    const bad = message(2, { data: { when: 10n } as never });
    await expect(bus.publish([message(1), bad])).rejects.toMatchObject({
      code: "SAGA_BUS_INVALID_MESSAGE",
    });
    const sentinel = message(3);
    await bus.publish([sentinel]);
    await waitUntil("sentinel", () => got.seen.length >= 1);
    await drained(under);
    expect(got.ids()).toEqual([sentinel.id]);
  });

  it("answers ping, and refuses work once closed", async () => {
    const { bus } = kind.open();
    await bus.ping();
    await bus.close();
    await expect(bus.ping()).rejects.toMatchObject({ code: "SAGA_BUS_CLOSED" });
    await expect(bus.publish([message(1)])).rejects.toMatchObject({ code: "SAGA_BUS_CLOSED" });
  });
});

describe.each(kinds.filter((k) => k.name !== "in-process"))(
  "RedisStreamsBus only: $name",
  (redisKind) => {
    /** XPENDING summary count of a group. */
    const pendingCount = async (under: BusUnderTest, group: string) =>
      Number(((await under.raw!.call("XPENDING", [under.stream!, group])) as unknown[])[0]);

    it("reclaims entries a dead member left unacknowledged, after claimIdleMs", async () => {
      const under = redisKind.open();
      const { bus, stream } = under;
      const redis = under.raw!;
      await redis.call("XGROUP", ["CREATE", stream!, "g", "$", "MKSTREAM"]);
      const sent = messages(0, 3);
      await bus.publish(sent);
      // Taken before the dead member reads: Redis counts idle time from that read, so no reclaim
      // can come sooner than claimIdleMs after this, however slow the machine is in between.
      const startedAt = Date.now();
      // A member that reads and dies before acknowledging.
      const taken = (await redis.call("XREADGROUP", [
        "GROUP",
        "g",
        "dead",
        "COUNT",
        10,
        "STREAMS",
        stream!,
        ">",
      ])) as [string, unknown[]][];
      expect(taken[0]![1]).toHaveLength(3);
      const got = recorder();
      await bus.subscribe({ group: "g", consumer: "live", claimIdleMs: 500 }, got.handler);
      await waitUntil("reclaimed", () => got.seen.length >= 3);
      // Not before they were idle (10 ms of slack for clock granularity between Node and Redis).
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(490);
      expect(got.ids()).toEqual(ids(sent));
      await waitUntil("acknowledged", async () => (await pendingCount(under, "g")) === 0);
    });

    it("a member restarted under the same name resumes its own pending entries at once", async () => {
      const under = redisKind.open();
      const { bus, stream } = under;
      const redis = under.raw!;
      await redis.call("XGROUP", ["CREATE", stream!, "g", "$", "MKSTREAM"]);
      const sent = messages(0, 2);
      await bus.publish(sent);
      await redis.call("XREADGROUP", [
        "GROUP",
        "g",
        "worker-1",
        "COUNT",
        10,
        "STREAMS",
        stream!,
        ">",
      ]);
      const got = recorder();
      await bus.subscribe({ group: "g", consumer: "worker-1", claimIdleMs: 60_000 }, got.handler);
      // Well under claimIdleMs (60 s): only resuming its own entries can deliver them this soon.
      await waitUntil("resumed", () => got.seen.length >= 2, { timeoutMs: 30_000 });
      expect(got.ids()).toEqual(ids(sent));
      await waitUntil("acknowledged", async () => (await pendingCount(under, "g")) === 0);
    });

    it("moves an undecodable entry to the dead-letter stream and goes on", async () => {
      const under = redisKind.open();
      const redis = under.raw!;
      const got = recorder();
      await under.bus.subscribe({ group: "g", consumer: "c" }, got.handler);
      await redis.xadd(under.stream!, "*", "garbage", "1", "data", "{not json");
      const after = message(1);
      await under.bus.publish([after]);
      await waitUntil("valid one handled", () => got.seen.length >= 1);
      const letters = await under.deadLetters();
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({
        message: null,
        raw: { garbage: "1", data: "{not json" },
        group: "g",
        deliveries: 0,
      });
      expect(letters[0]!.error).toMatch(/undecodable/);
      expect(got.ids()).toEqual([after.id]);
      // The handler returns before the acknowledgement is sent: wait for it, then nothing is left.
      await waitUntil("acknowledged", async () => (await pendingCount(under, "g")) === 0);
    });
  },
);
