import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { InProcessBus } from "../../src/bus/in-process-bus.js";
import { OutboxRelay } from "../../src/bus/outbox-relay.js";
import { TerminalError } from "../../src/core/errors.js";
import type { BusMessage, EventBus } from "../../src/engine/bus-port.js";
import { defineSaga, type SagaDefinition } from "../../src/engine/definition.js";
import { stableUuid } from "../../src/engine/step-directives.js";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { sqlClientOf } from "../../src/store/sql-client-of.js";
import { SqlEventStore } from "../../src/store/sql-event-store.js";
import { recorder } from "../helpers/buses.js";
import { sleep, waitUntil } from "../helpers/time.js";
import { engineHarness, memoryLogger } from "../helpers/engine.js";
import { byKey, expectedLifecycle, firstOccurrences, redisBuses } from "../helpers/events.js";
import { assertRedisAnswers } from "../helpers/redis.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";
import { freshSchema, storeKinds, uniqueTenant } from "../helpers/stores.js";

// The outbox relay on both stores, with the Redis Streams bus: lifecycle events and ctx.emit
// events reach the bus in per-saga order with stable ids; bus failures lose nothing.

const orderSaga = defineSaga<{ n: number; fail: boolean }>({
  name: "relay_order",
  retry: { maxAttempts: 1 },
  steps: [
    {
      name: "reserve",
      action: (ctx) =>
        ctx.emit([{ type: "order.reserved", data: { n: ctx.input.n } }], { reserved: true }),
      compensate: () => undefined,
    },
    { name: "check", action: () => "checked", compensate: () => undefined },
    {
      name: "charge",
      action: (ctx) => {
        if (ctx.input.fail) throw new TerminalError("card declined");
        return "charged";
      },
    },
  ],
}) as unknown as SagaDefinition<never>;

const relays: OutboxRelay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
});

function startRelay(options: ConstructorParameters<typeof OutboxRelay>[0]): OutboxRelay {
  const relay = new OutboxRelay({ idleMs: 20, ...options });
  relays.push(relay);
  relay.start();
  return relay;
}

beforeAll(async () => {
  await assertRedisAnswers();
});

describe.each(storeKinds())("Outbox relay: $name", (kind) => {
  const harness = engineHarness(kind);
  const buses = redisBuses();

  it("puts lifecycle and ctx.emit events on the bus, per saga in commit order, with stable ids", async () => {
    const bus = buses.open();
    const got = recorder();
    await bus.subscribe({ group: "watcher", consumer: "w1" }, got.handler);
    const orchestrator = await harness.orchestrator([orderSaga], { outbox: true });
    const tenant = orchestrator.tenantId;
    startRelay({ store: harness.store, bus, batchSize: 7 }); // several batches

    // Started together, so that their commits share group-commit statements.
    const handles = await Promise.all(
      Array.from({ length: 24 }, (_, n) =>
        orchestrator.start("relay_order", { n, fail: n % 3 === 0 }),
      ),
    );
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results.map((r) => r.status)).toEqual(
      handles.map((_, n) => (n % 3 === 0 ? "compensated" : "completed")),
    );

    const expected = new Map<string, { id: string; type: string; seq: number }[]>();
    for (const h of handles) {
      expected.set(h.sagaId, expectedLifecycle(h.sagaId, await orchestrator.events(h.sagaId)));
    }
    const total = [...expected.values()].reduce((a, l) => a + l.length, 0) + handles.length;
    await waitUntil(`${total} messages on the bus`, () => got.seen.length >= total, {
      timeoutMs: 20_000,
    });
    await sleep(200); // nothing more comes (no duplicates here)
    expect(got.seen).toHaveLength(total);

    const perSaga = byKey(got.seen);
    for (const [n, h] of handles.entries()) {
      const seen = perSaga.get(h.sagaId) ?? [];
      const lifecycle = seen.filter((m) => m.type.startsWith("saga."));
      expect(
        lifecycle.map((m) => ({ id: m.id, type: m.type, seq: (m.data as { seq: number }).seq })),
      ).toEqual(expected.get(h.sagaId));
      for (const m of lifecycle) {
        expect(m).toMatchObject({
          tenantId: tenant,
          data: { sagaId: h.sagaId, sagaType: "relay_order" },
        });
      }
      expect(lifecycle.map((m) => m.type)).toEqual(
        n % 3 === 0
          ? [
              "saga.started",
              "saga.step.completed",
              "saga.step.completed",
              "saga.step.failed",
              "saga.compensating",
              "saga.compensated",
            ]
          : [
              "saga.started",
              "saga.step.completed",
              "saga.step.completed",
              "saga.step.completed",
              "saga.completed",
            ],
      );
      // ctx.emit: once, with the id derived from saga, step and index (the same on a retry).
      const emitted = seen.filter((m) => m.type === "order.reserved");
      expect(emitted).toEqual([
        expect.objectContaining({
          id: stableUuid(`${h.sagaId}:reserve:emit:0`),
          key: h.sagaId,
          tenantId: tenant,
          data: { n },
        }),
      ]);
    }
  });

  it("keeps the rows while the bus fails, retries with backoff, and then delivers them in order", async () => {
    const inner = new InProcessBus();
    let failing = true;
    let attempts = 0;
    const flaky: EventBus = Object.assign(Object.create(inner) as EventBus, {
      publish: (messages: readonly BusMessage[]) => {
        attempts++;
        return failing ? Promise.reject(new Error("bus down (test)")) : inner.publish(messages);
      },
    });
    const got = recorder();
    await inner.subscribe({ group: "watcher", consumer: "w1" }, got.handler);
    const logger = memoryLogger();
    const events = new SqlEventStore(sqlClientOf(harness.store)!);
    const tenant = uniqueTenant();
    const relay = startRelay({ store: harness.store, bus: flaky, logger, maxBackoffMs: 200 });
    for (let i = 0; i < 30; i++) await events.append(tenant, "s", [{ type: "tick", data: { i } }]);

    await waitUntil("a few failed attempts", () => attempts >= 3);
    expect(relay.status.lastError).toContain("bus down");
    expect(logger.lines.some((l) => l.level === "warn" && /relay failed/.test(l.message))).toBe(
      true,
    );
    const [row] = await sqlClientOf(harness.store)!.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM saga_outbox WHERE tenant_id = $1",
      [tenant],
    );
    expect(row!.n).toBe(30); // nothing deleted while publishing fails
    expect(got.seen).toEqual([]);

    failing = false;
    await waitUntil("30 messages", () => got.seen.length >= 30, { timeoutMs: 10_000 });
    expect(got.seen.map((m) => (m.data as { i: number }).i)).toEqual(
      Array.from({ length: 30 }, (_, i) => i),
    );
    await waitUntil("status cleared", () => relay.status.lastError === null);
    await inner.close();
  });

  it("stops gracefully: nothing is published after stop() resolved", async () => {
    const inner = new InProcessBus();
    const got = recorder();
    await inner.subscribe({ group: "watcher", consumer: "w1" }, got.handler);
    const events = new SqlEventStore(sqlClientOf(harness.store)!);
    const tenant = uniqueTenant();
    const relay = startRelay({ store: harness.store, bus: inner });
    await events.append(tenant, "s", [{ type: "one", data: 1 }]);
    await waitUntil("first message", () => got.seen.length === 1);
    await relay.stop();
    await events.append(tenant, "s", [{ type: "two", data: 2 }]);
    await sleep(300);
    expect(got.seen.map((m) => m.type)).toEqual(["one"]);
    await inner.close();
  });
});

describe("Outbox relay on PostgreSQL: two relays at once", () => {
  const schema = freshSchema();

  it("take turns under the advisory lock: every row is published once, in order per stream", async () => {
    const store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema, poolSize: 6 });
    await store.migrate();
    const events = new SqlEventStore(sqlClientOf(store)!);
    const inner = new InProcessBus();
    const got = recorder();
    await inner.subscribe({ group: "watcher", consumer: "w1" }, got.handler);
    // Publishing takes a while, and we watch whether two batches are ever in flight at once.
    let inFlight = 0;
    let maxInFlight = 0;
    const bus: EventBus = Object.assign(Object.create(inner) as EventBus, {
      publish: async (messages: readonly BusMessage[]) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await sleep(5);
        await inner.publish(messages);
        inFlight--;
      },
    });
    const a = new OutboxRelay({ store, bus, batchSize: 5, idleMs: 5, standbyMs: 5 });
    const b = new OutboxRelay({ store, bus, batchSize: 5, idleMs: 5, standbyMs: 5 });
    const tenant = uniqueTenant();
    const standby: number[] = [];
    // Appends of 4 streams while both relays run.
    a.start();
    b.start();
    try {
      await Promise.all(
        [0, 1, 2, 3].map(async (s) => {
          for (let i = 0; i < 50; i++)
            await events.append(tenant, `s${s}`, [{ type: "tick", data: { s, i } }]);
        }),
      );
      await waitUntil("200 messages", () => got.seen.length >= 200, { timeoutMs: 20_000 });
      // Meanwhile, a third pass finds the lock taken or the outbox empty, never rows of a batch in flight.
      standby.push(await a.relayOnce(), await b.relayOnce());
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await inner.close();
      await store.close();
    }
    expect(got.seen).toHaveLength(200);
    expect(firstOccurrences(got.seen)).toHaveLength(200);
    for (const s of [0, 1, 2, 3]) {
      const order = got.seen
        .filter((m) => m.key === `s${s}`)
        .map((m) => (m.data as { i: number }).i);
      expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
    }
    expect(a.status.sent + b.status.sent).toBe(200);
    expect(maxInFlight).toBe(1);
    expect(standby.every((n) => n <= 0)).toBe(true);
  });
});
