import { randomUUID } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { InProcessBus } from "../../src/bus/in-process-bus.js";
import type { BusMessage } from "../../src/engine/bus-port.js";
import { defineSaga, type SagaDefinition } from "../../src/engine/definition.js";
import { EventIntake, triggerKey } from "../../src/engine/event-intake.js";
import { waitUntil } from "../helpers/time.js";
import { engineHarness, memoryLogger } from "../helpers/engine.js";
import { redisBuses } from "../helpers/events.js";
import { assertRedisAnswers } from "../helpers/redis.js";
import { storeKinds } from "../helpers/stores.js";

// The intake on both stores with the Redis Streams bus: triggers start sagas once per event id,
// waiting steps resume on a matching event (or time out), and a trigger that cannot map its
// event is dead-lettered instead of looping.

const calls = new Map<string, number>();
const onboarding = defineSaga<{ userId: string; email: string }>({
  name: "intake_onboarding",
  triggers: [
    {
      event: "user.registered",
      input: (event) => {
        const data = event.data as { user_id: string; email: string };
        return { userId: data.user_id, email: data.email };
      },
    },
  ],
  steps: [
    {
      name: "profile",
      action: (ctx) => {
        calls.set(ctx.input.userId, (calls.get(ctx.input.userId) ?? 0) + 1);
        return { id: `p-${ctx.input.userId}` };
      },
    },
  ],
}) as unknown as SagaDefinition<never>;

/** A second saga on the same event: one event may start several sagas, each once. */
const audit = defineSaga<{ userId: string }>({
  name: "intake_audit",
  triggers: [
    {
      event: "user.registered",
      input: (event) => ({ userId: (event.data as { user_id: string }).user_id }),
    },
  ],
  steps: [{ name: "record", action: () => "recorded" }],
}) as unknown as SagaDefinition<never>;

const payment = defineSaga<{ orderId: string; waitMs: number }>({
  name: "intake_payment",
  retry: { maxAttempts: 1 },
  steps: [
    {
      name: "await_payment",
      action: (ctx) =>
        ctx.waitForEvent("payment.confirmed", {
          path: "data.order_id",
          equals: ctx.input.orderId,
          timeoutMs: ctx.input.waitMs,
        }),
    },
    { name: "ship", action: (ctx) => ({ shipped: ctx.input.orderId }) },
  ],
}) as unknown as SagaDefinition<never>;

const broken = defineSaga({
  name: "intake_broken",
  triggers: [
    {
      event: "bad.event",
      input: () => {
        throw new Error("cannot map this event (test)");
      },
    },
  ],
  steps: [{ name: "never", action: () => null }],
}) as unknown as SagaDefinition<never>;

function event(
  type: string,
  tenantId: string,
  data: BusMessage["data"],
  headers?: Record<string, string>,
): BusMessage {
  return {
    id: randomUUID(),
    type,
    tenantId,
    key: null,
    data,
    occurredAt: Date.now(),
    ...(headers ? { headers } : {}),
  };
}

const intakes: EventIntake[] = [];
afterEach(async () => {
  await Promise.all(intakes.splice(0).map((i) => i.stop()));
});

beforeAll(async () => {
  await assertRedisAnswers();
});

describe.each(storeKinds())("Event intake: $name", (kind) => {
  const harness = engineHarness(kind);
  const buses = redisBuses();

  async function setup(sagas: SagaDefinition<never>[], options: { pollIntervalMs?: number } = {}) {
    const bus = buses.open();
    const orchestrator = await harness.orchestrator(sagas, options);
    const logger = memoryLogger();
    const intake = await EventIntake.start({ bus, store: harness.store, orchestrator, logger });
    intakes.push(intake);
    return { bus, orchestrator, logger };
  }

  it("starts each triggered saga once per event, also when the event is delivered again", async () => {
    const { bus, orchestrator } = await setup([onboarding, audit]);
    const tenantId = orchestrator.tenantId;
    const userId = `u-${randomUUID()}`;
    const registered = event(
      "user.registered",
      tenantId,
      { user_id: userId, email: "a@example.com" },
      { "x-correlation-id": "corr-1" },
    );
    await bus.publish([registered]);
    await bus.publish([registered]); // a duplicate delivery (same id)
    await bus.publish([event("user.logged_in", tenantId, { user_id: userId })]); // no trigger

    await waitUntil("two sagas completed", async () => {
      const page = await orchestrator.list({ statuses: ["completed"] });
      return page.items.length >= 2;
    });
    // The duplicate has been handled when a later message was: wait for a marker behind it.
    const marker = event("user.registered", tenantId, { user_id: `m-${userId}`, email: "m@x" });
    await bus.publish([marker]);
    await waitUntil(
      "marker saga",
      async () => (await orchestrator.list({ names: ["intake_audit"] })).items.length >= 2,
    );

    const sagas = (await orchestrator.list({ limit: 100 })).items.filter(
      (s) => (s.input as { userId: string }).userId === userId,
    );
    expect(sagas.map((s) => s.name).sort()).toEqual(["intake_audit", "intake_onboarding"]);
    const started = sagas.find((s) => s.name === "intake_onboarding")!;
    expect(started).toMatchObject({
      status: "completed",
      input: { userId, email: "a@example.com" },
      idempotencyKey: triggerKey(registered.id, "intake_onboarding"),
      correlationId: "corr-1",
    });
    expect(calls.get(userId)).toBe(1);
  });

  it("resumes a step waiting for an event when a matching one arrives (woken at once, not by a poll)", async () => {
    // A poll every minute: only the intake's wake-up can resume the saga within the test.
    const { bus, orchestrator } = await setup([payment], { pollIntervalMs: 60_000 });
    const tenantId = orchestrator.tenantId;
    const orderId = `o-${randomUUID()}`;
    const handle = await orchestrator.start("intake_payment", { orderId, waitMs: 60_000 });
    await waitUntil(
      "suspended",
      async () =>
        (await orchestrator.get(handle.sagaId))?.steps.await_payment?.status === "suspended",
    );

    // Not for this saga: another order, another type, another tenant.
    await bus.publish([
      event("payment.confirmed", tenantId, { order_id: "someone-else" }),
      event("payment.refused", tenantId, { order_id: orderId }),
      event("payment.confirmed", "another-tenant", { order_id: orderId }),
    ]);
    const confirmed = event("payment.confirmed", tenantId, { order_id: orderId, amount: 42 });
    const began = Date.now();
    await bus.publish([confirmed]);
    const result = await handle.result();
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(result.status).toBe("completed");
    expect(result.results.await_payment).toMatchObject({
      id: confirmed.id,
      type: "payment.confirmed",
      data: { order_id: orderId, amount: 42 },
    });
    expect(result.results.ship).toEqual({ shipped: orderId });
  });

  it("handles events published together: the waiting step gets the first match, every trigger starts", async () => {
    const { bus, orchestrator } = await setup([payment, onboarding, audit], {
      pollIntervalMs: 60_000,
    });
    const tenantId = orchestrator.tenantId;
    const orderId = `o-${randomUUID()}`;
    const userId = `u-${randomUUID()}`;
    const handle = await orchestrator.start("intake_payment", { orderId, waitMs: 60_000 });
    await waitUntil(
      "suspended",
      async () =>
        (await orchestrator.get(handle.sagaId))?.steps.await_payment?.status === "suspended",
    );
    const first = event("payment.confirmed", tenantId, { order_id: orderId, amount: 1 });
    const second = event("payment.confirmed", tenantId, { order_id: orderId, amount: 2 });
    await bus.publish([
      first,
      event("user.registered", tenantId, { user_id: userId, email: "b@example.com" }),
      second,
    ]);
    const result = await handle.result();
    expect(result.status).toBe("completed");
    expect(result.results.await_payment).toMatchObject({ id: first.id, data: { amount: 1 } });
    await waitUntil("both triggered sagas completed", async () => {
      const started = (await orchestrator.list({ limit: 100 })).items.filter(
        (s) => (s.input as { userId?: string } | null)?.userId === userId,
      );
      return started.length === 2 && started.every((s) => s.status === "completed");
    });
  });

  it("fails the waiting step with SAGA_WAIT_TIMEOUT when no matching event arrives in time", async () => {
    const { bus, orchestrator } = await setup([payment]);
    const orderId = `o-${randomUUID()}`;
    const handle = await orchestrator.start("intake_payment", { orderId, waitMs: 400 });
    await bus.publish([event("payment.confirmed", orchestrator.tenantId, { order_id: "other" })]);
    const result = await handle.result();
    expect(result.status).toBe("compensated");
    expect(result.error?.code).toBe("SAGA_WAIT_TIMEOUT");
  });

  it("dead-letters an event whose trigger mapping throws, after maxDeliveries, and logs it; later events go on", async () => {
    const bus = new InProcessBus({ retryDelayMs: 10 });
    const orchestrator = await harness.orchestrator([broken, onboarding]);
    const logger = memoryLogger();
    const intake = await EventIntake.start({
      bus,
      store: harness.store,
      orchestrator,
      logger,
      maxDeliveries: 3,
    });
    intakes.push(intake);
    try {
      const bad = event("bad.event", orchestrator.tenantId, { x: 1 });
      await bus.publish([bad]);
      await waitUntil("dead letter", () => bus.deadLetters.length === 1);
      expect(bus.deadLetters[0]).toMatchObject({ message: { id: bad.id }, deliveries: 3 });
      expect(bus.deadLetters[0]!.error).toContain("cannot map this event");
      expect(
        logger.lines.filter((l) => l.level === "warn" && /trigger failed/.test(l.message)),
      ).toHaveLength(3);
      expect((await orchestrator.list({ names: ["intake_broken"] })).items).toEqual([]);

      const userId = `u-${randomUUID()}`;
      await bus.publish([
        event("user.registered", orchestrator.tenantId, { user_id: userId, email: "e" }),
      ]);
      await waitUntil("a later event starts its saga", async () =>
        (await orchestrator.list({ names: ["intake_onboarding"] })).items.some(
          (s) => (s.input as { userId: string }).userId === userId,
        ),
      );
    } finally {
      await intake.stop();
      await bus.close();
    }
  });

  it("on Redis, a failing message is delivered again after claimIdleMs and dead-lettered after maxDeliveries", async () => {
    const bus = buses.open();
    const orchestrator = await harness.orchestrator([broken]);
    const intake = await EventIntake.start({
      bus,
      store: harness.store,
      orchestrator,
      maxDeliveries: 2,
      claimIdleMs: 100,
    });
    intakes.push(intake);
    const bad = event("bad.event", orchestrator.tenantId, {});
    await bus.publish([bad]);
    await waitUntil(
      "dead letter on Redis",
      async () => (await bus.readDeadLetters()).length === 1,
      { timeoutMs: 20_000 },
    );
    const [letter] = await bus.readDeadLetters();
    expect(letter).toMatchObject({ message: { id: bad.id }, group: "saga-orchestrator" });
    expect(letter!.error).toContain("cannot map this event");
  });
});
