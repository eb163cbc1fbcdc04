import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisStreamsBus } from "../../src/bus/redis-streams-bus.js";
import { loadConfig } from "../../src/config/config.js";
import type { BusMessage } from "../../src/engine/bus-port.js";
import { defineSaga, type SagaDefinition } from "../../src/engine/definition.js";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { createService, type Service } from "../../src/service.js";
import { recorder } from "../helpers/buses.js";
import { waitUntil } from "../helpers/time.js";
import {
  assertRedisAnswers,
  deleteKeys,
  rawRedis,
  TEST_REDIS_URL,
  uniqueKeyPrefix,
} from "../helpers/redis.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";
import { freshSchema } from "../helpers/stores.js";
import { call, expectError, type Reply } from "./support/http.js";

// The Events API over a service on PostgreSQL and Redis Streams: publish -> event store + outbox
// -> relay -> bus -> intake -> triggered sagas and waiting steps; replay; reads; tenancy; roles.

const A_OPERATOR = "events-a-operator-key-0123456789";
const A_VIEWER = "events-a-viewer-key-0123456789";
const B_OPERATOR = "events-b-operator-key-0123456789";

const onboarding = defineSaga<{ user_id: string }>({
  name: "api_onboarding",
  triggers: [
    {
      event: "user.registered",
      input: (event) => ({ user_id: (event.data as { user_id: string }).user_id }),
    },
  ],
  steps: [{ name: "profile", action: (ctx) => ({ profile: ctx.input.user_id }) }],
}) as unknown as SagaDefinition<never, never>;

const checkout = defineSaga<{ order_id: string }>({
  name: "api_checkout",
  steps: [
    {
      name: "await_payment",
      action: (ctx) =>
        ctx.waitForEvent("payment.confirmed", {
          path: "data.order_id",
          equals: ctx.input.order_id,
          timeoutMs: 60_000,
        }),
    },
  ],
}) as unknown as SagaDefinition<never, never>;

type Headers = Record<string, string>;
interface EventView {
  type: string;
  stream_id: string;
  stream_version: number;
}
const eventsOf = (reply: Reply) => reply.body.events as EventView[];
const typesOf = (reply: Reply) => reply.body.types as { type: string }[];
const aOp: Headers = { "x-api-key": A_OPERATOR };
const aView: Headers = { "x-api-key": A_VIEWER };
const bOp: Headers = { "x-api-key": B_OPERATOR };

describe("Events API (PostgreSQL + Redis Streams)", () => {
  const schema = freshSchema();
  const keyPrefix = uniqueKeyPrefix();
  let store: PostgresStore;
  let bus: RedisStreamsBus;
  let service: Service;
  const watched = recorder();

  beforeAll(async () => {
    await assertRedisAnswers();
    store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    bus = new RedisStreamsBus({ url: TEST_REDIS_URL, keyPrefix, blockMs: 100 });
    const config = loadConfig({
      REQUIRE_API_KEY: "true",
      API_KEYS: `${A_OPERATOR}=tenant-a:operator,${A_VIEWER}=tenant-a:viewer,${B_OPERATOR}=tenant-b:operator`,
      SAGA_SHUTDOWN_GRACE_SECONDS: "1",
    });
    service = await createService(config, {
      sagas: [onboarding, checkout],
      logger: false,
      store,
      bus,
      builtinDefinitions: null, // only this file's sagas react to user.registered
    });
    await service.app.ready();
    await bus.subscribe({ group: "test-watcher", consumer: "w" }, watched.handler);
  });
  afterAll(async () => {
    await service?.close();
    await bus?.close();
    await store?.close();
    const redis = rawRedis();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  const as = (headers: Headers, options: InjectOptions) =>
    call(service.app, { ...options, headers: { ...headers, ...(options.headers as Headers) } });
  const publish = (headers: Headers, payload: object, extra: Headers = {}) =>
    as(headers, { method: "POST", url: "/events/publish", payload, headers: extra });
  const sagasOf = async (tenantId: string, name: string, userId: string) =>
    (await service.orchestrator.list({ tenantId, names: [name], limit: 1000 })).items.filter(
      (s) => (s.input as { user_id?: string }).user_id === userId,
    );
  /**
   * Resolves once the intake has handled everything published before: it publishes a marker
   * event (through the API) whose triggered saga can only start after what came before it.
   */
  const settle = async (headers: Headers, tenantId: string) => {
    const marker = `marker-${randomUUID()}`;
    expect(
      (
        await publish(headers, {
          stream_id: marker,
          type: "user.registered",
          data: { user_id: marker },
        })
      ).status,
    ).toBe(201);
    await waitUntil(
      "the marker's saga",
      async () => (await sagasOf(tenantId, "api_onboarding", marker)).length === 1,
      { timeoutMs: 20_000 },
    );
  };

  it("documents every events route in OpenAPI, with the replay semantics", async () => {
    const doc = (await call(service.app, { method: "GET", url: "/openapi.json" })).body as {
      paths: Record<string, Record<string, { description?: string; responses: object }>>;
    };
    for (const [path, method] of [
      ["/events/publish", "post"],
      ["/events/stream/{stream_id}", "get"],
      ["/events/all", "get"],
      ["/events/types", "get"],
      ["/events/replay/{stream_id}", "post"],
    ] as const) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
    expect(doc.paths["/events/publish"]!.post!.responses).toHaveProperty("409");
    const replay = doc.paths["/events/replay/{stream_id}"]!.post!.description!;
    expect(replay).toMatch(/ORIGINAL event ids/);
    expect(replay).toMatch(/never starts a saga twice/);
    expect(replay).toMatch(/as_new=true/);
  });

  it("a published event starts its triggered saga once; a replay starts nothing new; as_new starts a new one", async () => {
    const userId = `u-${randomUUID()}`;
    const reply = await publish(
      aOp,
      { stream_id: `user-${userId}`, type: "user.registered", data: { user_id: userId } },
      { "x-correlation-id": "corr-events-1" },
    );
    expect(reply.status, reply.text).toBe(201);
    expect(reply.body).toEqual({
      event_id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      stream_id: `user-${userId}`,
      stream_version: 1,
      global_position: expect.any(Number) as unknown,
    });
    const eventId = reply.body.event_id as string;
    await waitUntil(
      "the triggered saga",
      async () => (await sagasOf("tenant-a", "api_onboarding", userId)).length === 1,
      { timeoutMs: 20_000 },
    );
    const [saga] = await sagasOf("tenant-a", "api_onboarding", userId);
    expect(saga).toMatchObject({
      correlationId: "corr-events-1",
      idempotencyKey: `event:${eventId}:api_onboarding`,
    });
    // The bus got the event with the id the API answered.
    await waitUntil("the event on the bus", () => watched.seen.some((m) => m.id === eventId));

    // Replay: same id on the bus again, and still one saga.
    const replayed = await as(aOp, { method: "POST", url: `/events/replay/user-${userId}` });
    expect(replayed.status, replayed.text).toBe(202);
    expect(replayed.body).toEqual({ stream_id: `user-${userId}`, replayed: 1, as_new: false });
    await waitUntil(
      "the replayed copy on the bus",
      () => watched.seen.filter((m) => m.id === eventId).length === 2,
    );
    await settle(aOp, "tenant-a");
    expect(await sagasOf("tenant-a", "api_onboarding", userId)).toHaveLength(1);

    // as_new: new ids, so the trigger starts another saga.
    const fresh = await as(aOp, {
      method: "POST",
      url: `/events/replay/user-${userId}?as_new=true`,
    });
    expect(fresh.status, fresh.text).toBe(202);
    expect(fresh.body).toMatchObject({ replayed: 1, as_new: true });
    await waitUntil(
      "a second saga",
      async () => (await sagasOf("tenant-a", "api_onboarding", userId)).length === 2,
      { timeoutMs: 20_000 },
    );
    // The watcher is another consumer of the bus: it may see the copy after the intake did.
    const isCopy = (m: BusMessage) => m.headers?.["x-replay-of"] === eventId && m.id !== eventId;
    await waitUntil("the as_new copy on the bus", () => watched.seen.some(isCopy));
    const copy = watched.seen.find(isCopy);
    expect(copy).toMatchObject({ type: "user.registered", data: { user_id: userId } });
  });

  it("resumes a saga waiting for an event when a matching one is published", async () => {
    const orderId = `o-${randomUUID()}`;
    const handle = await service.orchestrator.start(
      "api_checkout",
      { order_id: orderId },
      { tenantId: "tenant-a" },
    );
    await waitUntil(
      "suspended",
      async () =>
        (await service.orchestrator.get(handle.sagaId, { tenantId: "tenant-a" }))?.steps
          .await_payment?.status === "suspended",
    );
    // The scrape-time gauge of waiting sagas (read from the store) counts it.
    const metrics = (await service.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/^saga_waiting_current\{saga_type="api_checkout"\} [1-9]\d*$/m);
    // Same order id in another tenant: not for this saga.
    expect(
      (
        await publish(bOp, {
          stream_id: `order-${orderId}`,
          type: "payment.confirmed",
          data: { order_id: orderId },
        })
      ).status,
    ).toBe(201);
    await settle(bOp, "tenant-b");
    expect((await service.orchestrator.get(handle.sagaId, { tenantId: "tenant-a" }))?.status).toBe(
      "running",
    );

    expect(
      (
        await publish(aOp, {
          stream_id: `order-${orderId}`,
          type: "payment.confirmed",
          data: { order_id: orderId },
        })
      ).status,
    ).toBe(201);
    const result = await handle.result();
    expect(result.status).toBe("completed");
    expect(result.results.await_payment).toMatchObject({
      type: "payment.confirmed",
      data: { order_id: orderId },
    });
  });

  it("answers 409 on an expected-version conflict and writes nothing (no event, no saga)", async () => {
    const stream = `acct-${randomUUID()}`;
    expect(
      (
        await publish(aOp, {
          stream_id: stream,
          type: "account.opened",
          data: {},
          expected_version: 0,
        })
      ).status,
    ).toBe(201);
    const userId = `u-${randomUUID()}`;
    const conflict = await publish(aOp, {
      stream_id: stream,
      type: "user.registered",
      data: { user_id: userId },
      expected_version: 0,
    });
    expectError(conflict, 409, "SAGA_VERSION_CONFLICT");
    expect(conflict.body.error.details).toEqual({
      stream_id: stream,
      expected_version: 0,
      current_version: 1,
    });

    const read = await as(aView, { method: "GET", url: `/events/stream/${stream}` });
    expect(eventsOf(read).map((e) => e.type)).toEqual(["account.opened"]);
    await settle(aOp, "tenant-a");
    expect(await sagasOf("tenant-a", "api_onboarding", userId)).toEqual([]);
    expect(watched.seen.some((m) => (m.data as { user_id?: string }).user_id === userId)).toBe(
      false,
    );

    const ok = await publish(aOp, {
      stream_id: stream,
      type: "account.funded",
      data: {},
      expected_version: 1,
    });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.stream_version).toBe(2);
  });

  it("reads streams, the whole log by position (paged), and the types; all per tenant", async () => {
    const stream = `log-${randomUUID()}`;
    const positions: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await publish(aOp, {
        stream_id: stream,
        type: i % 2 ? "log.odd" : "log.even",
        data: { i },
        metadata: { source: "t" },
      });
      positions.push(r.body.global_position as number);
    }
    // The stream, in pages of 2.
    const page1 = await as(aView, { method: "GET", url: `/events/stream/${stream}?limit=2` });
    expect(page1.status, page1.text).toBe(200);
    expect(eventsOf(page1).map((e) => e.stream_version)).toEqual([1, 2]);
    expect(page1.body.next_from_version).toBe(3);
    expect(page1.body.events[0]).toMatchObject({
      type: "log.even",
      data: { i: 0 },
      metadata: { source: "t" },
    });
    const last = await as(aView, { method: "GET", url: `/events/stream/${stream}?from_version=5` });
    expect(last.body).toMatchObject({ next_from_version: null, events: [{ stream_version: 5 }] });

    // The log from just before the first of them, 2 at a time.
    let after = positions[0]! - 1;
    const got: number[] = [];
    for (let pages = 0; pages < 10; pages++) {
      const r = await as(aView, { method: "GET", url: `/events/all?after=${after}&limit=2` });
      expect(r.status, r.text).toBe(200);
      got.push(
        ...(r.body.events as { stream_id: string; data: { i: number } }[])
          .filter((e) => e.stream_id === stream)
          .map((e) => e.data.i),
      );
      expect(r.body.next_after).toBeGreaterThanOrEqual(after);
      after = r.body.next_after as number;
      if (!r.body.has_more) break;
    }
    expect(got).toEqual([0, 1, 2, 3, 4]);

    const types = await as(aView, { method: "GET", url: "/events/types" });
    expect(types.body.types).toEqual(
      expect.arrayContaining([
        { type: "log.even", count: 3, last_at: expect.any(String) as unknown },
        { type: "log.odd", count: 2, last_at: expect.any(String) as unknown },
      ]),
    );

    // Tenant B sees none of it.
    expectError(
      await as(bOp, { method: "GET", url: `/events/stream/${stream}` }),
      404,
      "STREAM_NOT_FOUND",
    );
    const bAll = await as(bOp, { method: "GET", url: `/events/all?after=0&limit=1000` });
    expect(eventsOf(bAll).some((e) => e.stream_id === stream)).toBe(false);
    const bTypes = await as(bOp, { method: "GET", url: "/events/types" });
    expect(typesOf(bTypes).some((t) => t.type.startsWith("log."))).toBe(false);
    expectError(
      await as(bOp, { method: "POST", url: `/events/replay/${stream}` }),
      404,
      "STREAM_NOT_FOUND",
    );
  });

  it("enforces roles and validates requests", async () => {
    expectError(await publish(aView, { stream_id: "s", type: "t.x", data: {} }), 403, "FORBIDDEN");
    expectError(await as(aView, { method: "POST", url: "/events/replay/s" }), 403, "FORBIDDEN");
    expectError(await as({}, { method: "GET", url: "/events/all" }), 401);
    expectError(
      await publish(aOp, { stream_id: "s", type: "has space", data: {} }),
      400,
      "VALIDATION_ERROR",
    );
    expectError(
      await publish(aOp, { stream_id: "", type: "t", data: {} }),
      400,
      "VALIDATION_ERROR",
    );
    expectError(
      await publish(aOp, { stream_id: "s", type: "t", data: {}, extra: 1 }),
      400,
      "VALIDATION_ERROR",
    );
    expectError(
      await publish(aOp, { stream_id: "s", type: "t", expected_version: -1 }),
      400,
      "VALIDATION_ERROR",
    );
    expectError(
      await as(aView, { method: "GET", url: "/events/all?limit=0" }),
      400,
      "VALIDATION_ERROR",
    );
    expectError(
      await as(aView, { method: "GET", url: "/events/all?after=-1" }),
      400,
      "VALIDATION_ERROR",
    );
    expectError(
      await as(aView, { method: "GET", url: `/events/stream/nope-${randomUUID()}` }),
      404,
      "STREAM_NOT_FOUND",
    );
  });

  it("reports the bus in /health", async () => {
    const health = await call(service.app, { method: "GET", url: "/health" });
    expect(health.status).toBe(200);
    expect(health.body.components.bus).toMatchObject({
      status: "up",
      kind: "redis",
      relay_error: null,
    });
  });
});

describe("Events API, embedded (PGlite + in-process bus, no REDIS_URL)", () => {
  let service: Service;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "saga-events-embedded-"));
    const config = loadConfig({ SAGA_DATA_DIR: dataDir, SAGA_SHUTDOWN_GRACE_SECONDS: "1" });
    service = await createService(config, {
      sagas: [onboarding],
      logger: false,
      builtinDefinitions: null,
    });
  });
  afterAll(async () => {
    await service?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("starts the triggered saga once, also after a replay, and reports the in-process bus", async () => {
    const userId = `u-${randomUUID()}`;
    const count = async () =>
      (
        await service.orchestrator.list({
          tenantId: "default",
          names: ["api_onboarding"],
          limit: 1000,
        })
      ).items.filter((s) => (s.input as { user_id: string }).user_id === userId).length;
    const published = await call(service.app, {
      method: "POST",
      url: "/events/publish",
      payload: { stream_id: userId, type: "user.registered", data: { user_id: userId } },
    });
    expect(published.status, published.text).toBe(201);
    await waitUntil("the triggered saga", async () => (await count()) === 1, { timeoutMs: 20_000 });
    const replay = await call(service.app, { method: "POST", url: `/events/replay/${userId}` });
    expect(replay.status, replay.text).toBe(202);
    // A later event's saga starts only after the replayed copy was handled (one consumer, in order).
    const marker = `m-${randomUUID()}`;
    await call(service.app, {
      method: "POST",
      url: "/events/publish",
      payload: { stream_id: marker, type: "user.registered", data: { user_id: marker } },
    });
    await waitUntil(
      "the marker's saga",
      async () =>
        (
          await service.orchestrator.list({
            tenantId: "default",
            names: ["api_onboarding"],
            limit: 1000,
          })
        ).items.some((s) => (s.input as { user_id: string }).user_id === marker),
      { timeoutMs: 20_000 },
    );
    expect(await count()).toBe(1);
    const health = await call(service.app, { method: "GET", url: "/health" });
    expect(health.body.components.bus).toMatchObject({ status: "up", kind: "in-process" });
  });
});
