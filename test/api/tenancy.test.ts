import { randomUUID } from "node:crypto";
import type { InjectOptions } from "fastify";
import { beforeAll, describe, expect, it } from "vitest";
import { sleep, waitUntil } from "../helpers/time.js";
import { call, expectError, type Reply } from "./support/http.js";
import { useService } from "./support/service.js";
import { bearer, signToken } from "./support/tokens.js";

const SECRET = "tenancy-secret-for-tests-0123456789abcdef";
const B_KEY = "tenant-b-admin-key-0123456789";
const A = "tenant-a";
const B = "tenant-b";

type Headers = Record<string, string>;
const ids = (reply: Reply) => (reply.body.items as { saga_id: string }[]).map((s) => s.saga_id);

describe("tenant isolation (JWT tenants and API_KEYS)", () => {
  const h = useService({
    REQUIRE_API_KEY: "true",
    JWT_SECRET: SECRET,
    API_KEYS: `${B_KEY}=${B}:admin`,
  });
  const app = () => h.service.app;
  const as = (headers: Headers, options: InjectOptions) =>
    call(app(), { ...options, headers: { ...headers, ...(options.headers as Headers) } });

  let aHeaders: Headers = {};
  let bJwtHeaders: Headers = {};
  const bKeyHeaders: Headers = { "x-api-key": B_KEY };
  /** A's sagas: one running (long steps), one completed, one failed (waiting for retry). */
  const aSagas = { running: "", completed: "", failed: "" };
  const bSagas: string[] = [];

  const start = async (headers: Headers, payload: object, extra: Headers = {}): Promise<Reply> => {
    const reply = await as(headers, {
      method: "POST",
      url: "/sagas/start",
      headers: extra,
      payload,
    });
    expect(reply.status, reply.text).toBeLessThan(300);
    return reply;
  };
  const statusOf = async (headers: Headers, id: string) =>
    (await as(headers, { method: "GET", url: `/sagas/${id}` })).body.status as string;

  beforeAll(async () => {
    aHeaders = bearer(await signToken(SECRET, { tenant: A, roles: ["admin"], sub: "alice" }));
    bJwtHeaders = bearer(await signToken(SECRET, { tenant: B, roles: ["admin"], sub: "alice" }));
    const order = (step_ms: number) => ({ order_id: "o-shared", step_ms });
    aSagas.running = (
      await start(aHeaders, { saga_type: "demo_order", input: order(10_000) })
    ).body.saga_id;
    aSagas.completed = (
      await start(aHeaders, { saga_type: "demo_order", input: order(0) })
    ).body.saga_id;
    aSagas.failed = (await start(aHeaders, { saga_type: "stuck_order", input: {} })).body.saga_id;
    // B has sagas that every filter below also matches, so an empty answer would prove nothing.
    for (const [headers, payload] of [
      [bKeyHeaders, { saga_type: "demo_order", input: order(0) }],
      [bJwtHeaders, { saga_type: "stuck_order", input: {} }],
    ] as const)
      bSagas.push((await start(headers, payload)).body.saga_id as string);
    await waitUntil(
      "A's saga completed",
      async () => (await statusOf(aHeaders, aSagas.completed)) === "completed",
    );
    await waitUntil(
      "A's saga failed",
      async () => (await statusOf(aHeaders, aSagas.failed)) === "failed",
    );
  });

  const B_CALLERS: { name: string; headers: () => Headers }[] = [
    { name: "JWT with tenant B (same sub as A's token)", headers: () => bJwtHeaders },
    { name: "API_KEYS key of tenant B", headers: () => bKeyHeaders },
  ];
  const ON_A: [string, "GET" | "POST", (s: typeof aSagas) => string][] = [
    ["GET /sagas/{id}", "GET", (s) => `/sagas/${s.running}`],
    ["GET /sagas/{id}/steps", "GET", (s) => `/sagas/${s.running}/steps`],
    ["GET /sagas/{id}/events", "GET", (s) => `/sagas/${s.completed}/events`],
    ["GET /sagas/{id}/stream", "GET", (s) => `/sagas/${s.completed}/stream`],
    ["POST /sagas/{id}/cancel", "POST", (s) => `/sagas/${s.running}/cancel`],
    ["POST /sagas/{id}/retry", "POST", (s) => `/sagas/${s.failed}/retry`],
  ];

  describe.each(B_CALLERS)("tenant B ($name) on tenant A's sagas", (b) => {
    it.each(ON_A)("%s -> 404 SAGA_NOT_FOUND", async (_name, method, url) => {
      const reply = await as(b.headers(), { method, url: url(aSagas) });
      expectError(reply, 404, "SAGA_NOT_FOUND");
      expect(reply.text).not.toContain("o-shared");
    });
  });

  it("leaves A's sagas as they were: B's cancel did not cancel, B's retry did not retry", async () => {
    await sleep(1_500); // past a heartbeat, when a stored cancel request would be acted on
    const running = await as(aHeaders, { method: "GET", url: `/sagas/${aSagas.running}` });
    expect(running.body).toMatchObject({ status: "running", reason: null });
    const events = await as(aHeaders, { method: "GET", url: `/sagas/${aSagas.running}/events` });
    expect((events.body.events as { type: string }[]).map((e) => e.type)).not.toContain(
      "SagaCompensationStarted",
    );
    const failed = await as(aHeaders, { method: "GET", url: `/sagas/${aSagas.failed}/events` });
    expect((failed.body.events as { type: string }[]).map((e) => e.type)).not.toContain(
      "SagaRetried",
    );
    expect(await statusOf(aHeaders, aSagas.failed)).toBe("failed");

    // The same calls by A do act: B's 404 was isolation, not a saga that could not be cancelled.
    const cancelled = await as(aHeaders, {
      method: "POST",
      url: `/sagas/${aSagas.running}/cancel`,
    });
    expect(cancelled.status).toBe(202);
    await waitUntil(
      "A's running saga compensated",
      async () => (await statusOf(aHeaders, aSagas.running)) === "compensated",
    );
    const retried = await as(aHeaders, { method: "POST", url: `/sagas/${aSagas.failed}/retry` });
    expect(retried.status).toBe(202);
  });

  describe.each(B_CALLERS)("tenant B ($name) listing", (b) => {
    it.each([
      "/sagas/",
      "/sagas/?limit=1000",
      "/sagas/?saga_type=demo_order,stuck_order",
      "/sagas/?status=running,compensating,completed,compensated,failed",
      "/sagas/?orderId=o-shared",
      "/sagas/?orderId=o-shared&saga_type=demo_order&status=completed,compensated",
      "/sagas/?created_after=2000-01-01T00:00:00Z",
      `/sagas/?tenant_id=${A}`,
      `/sagas/?tenantId=${A}`,
    ])("%s never lists A's sagas", async (url) => {
      const reply = await as(b.headers(), { method: "GET", url });
      expect(reply.status, reply.text).toBe(200);
      const listed = ids(reply);
      for (const id of Object.values(aSagas)) expect(listed).not.toContain(id);
      for (const id of listed) expect(bSagas).toContain(id);
    });

    it("with a cursor taken from A's listing still lists only B's sagas", async () => {
      const aPage = await as(aHeaders, { method: "GET", url: "/sagas/?limit=1" });
      const cursor = aPage.body.next_cursor as string;
      expect(cursor).toBeTypeOf("string");
      const reply = await as(b.headers(), {
        method: "GET",
        url: `/sagas/?limit=1000&cursor=${encodeURIComponent(cursor)}`,
      });
      expect(reply.status, reply.text).toBe(200);
      for (const id of ids(reply)) expect(bSagas).toContain(id);
    });
  });

  it("the filters do match: B finds its own sagas by the same filters", async () => {
    const reply = await as(bKeyHeaders, { method: "GET", url: "/sagas/?orderId=o-shared" });
    expect(ids(reply)).toEqual([bSagas[0]]);
    const all = await as(bJwtHeaders, { method: "GET", url: "/sagas/" });
    expect(new Set(ids(all))).toEqual(new Set(bSagas));
  });

  it("the same Idempotency-Key used by A and B starts two different sagas", async () => {
    const key = `order-${randomUUID()}`;
    const aFirst = await start(
      aHeaders,
      { saga_type: "demo_order", input: { order_id: "from-a", step_ms: 0 } },
      { "idempotency-key": key },
    );
    const bFirst = await start(
      bJwtHeaders,
      { saga_type: "demo_order", input: { order_id: "from-b", step_ms: 0 } },
      { "idempotency-key": key },
    );
    expect(aFirst.status).toBe(201);
    expect(bFirst.status).toBe(201);
    expect(bFirst.body.saga_id).not.toBe(aFirst.body.saga_id);
    expect(bFirst.body.input).toEqual({ order_id: "from-b", step_ms: 0 });

    const aAgain = await start(
      aHeaders,
      { saga_type: "demo_order", input: { order_id: "other", step_ms: 0 } },
      { "idempotency-key": key },
    );
    const bAgain = await start(bKeyHeaders, {
      saga_type: "demo_order",
      idempotency_key: key,
      input: { order_id: "other", step_ms: 0 },
    });
    expect([aAgain.status, aAgain.body.saga_id]).toEqual([200, aFirst.body.saga_id]);
    expect([bAgain.status, bAgain.body.saga_id]).toEqual([200, bFirst.body.saga_id]);
    expect(aAgain.body.input).toEqual({ order_id: "from-a", step_ms: 0 });
    expectError(
      await as(bJwtHeaders, { method: "GET", url: `/sagas/${aFirst.body.saga_id}` }),
      404,
      "SAGA_NOT_FOUND",
    );
    bSagas.push(bFirst.body.saga_id as string);
  });

  describe("server-owned fields cannot be set by a client", () => {
    const listAll = async (headers: Headers) =>
      ids(await as(headers, { method: "GET", url: "/sagas/?limit=1000" })).sort();

    it.each([
      ["tenant_id", { tenant_id: B }],
      ["tenantId", { tenantId: B }],
      ["status", { status: "completed" }],
      ["saga_id", { saga_id: randomUUID() }],
      ["created_at", { created_at: "2000-01-01T00:00:00.000Z" }],
      ["attributes", { attributes: { orderId: "o-forged" } }],
      ["version as a non-numeric string", { version: "latest" }],
      ["version as a numeric string", { version: "1" }],
    ])("%s -> 400 VALIDATION_ERROR, nothing stored", async (_name, extra) => {
      const beforeA = await listAll(aHeaders);
      const beforeB = await listAll(bKeyHeaders);
      const reply = await as(aHeaders, {
        method: "POST",
        url: "/sagas/start",
        payload: { saga_type: "demo_order", input: { step_ms: 0 }, ...extra },
      });
      expectError(reply, 400, "VALIDATION_ERROR");
      expect(await listAll(aHeaders)).toEqual(beforeA);
      expect(await listAll(bKeyHeaders)).toEqual(beforeB);
    });
  });
});

describe("rate limits (SAGA_RATE_LIMIT_PER_MINUTE=5)", () => {
  const KEYS = { alpha: "alpha-operator-key-0123456789", beta: "beta-operator-key-0123456789" };
  const h = useService({
    REQUIRE_API_KEY: "true",
    API_KEYS: `${KEYS.alpha}=alpha:operator,${KEYS.beta}=beta:operator`,
    SAGA_RATE_LIMIT_PER_MINUTE: "5",
  });
  const app = () => h.service.app;

  it("does not limit the public endpoints", async () => {
    for (const url of [
      "/health/live",
      "/health/ready",
      "/health",
      "/metrics",
      "/openapi.json",
      "/docs",
    ]) {
      for (let i = 0; i < 8; i++) {
        const reply = await call(app(), { method: "GET", url });
        expect(reply.status, `${url} #${i + 1}`).not.toBe(429);
        expect(reply.status, `${url} #${i + 1}`).toBeLessThan(400);
      }
    }
  });

  it("answers the 6th request of a key in a minute with 429, Retry-After and RATE_LIMITED; another tenant's key is still served", async () => {
    const alpha = { "x-api-key": KEYS.alpha };
    for (let i = 0; i < 5; i++) {
      const reply = await call(app(), { method: "GET", url: "/sagas/", headers: alpha });
      expect(reply.status, `request ${i + 1}`).toBe(200);
    }
    const limited = await call(app(), { method: "GET", url: "/sagas/", headers: alpha });
    expectError(limited, 429, "RATE_LIMITED");
    const retryAfter = Number(limited.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);

    const start = await call(app(), {
      method: "POST",
      url: "/sagas/start",
      headers: alpha,
      payload: { saga_type: "demo_order", input: { step_ms: 0 } },
    });
    expectError(start, 429, "RATE_LIMITED");
    expect((await h.service.orchestrator.list({ tenantId: "alpha" })).items).toHaveLength(0);

    const beta = await call(app(), {
      method: "GET",
      url: "/sagas/",
      headers: { "x-api-key": KEYS.beta },
    });
    expect(beta.status).toBe(200);
    for (const url of ["/health/live", "/metrics"])
      expect((await call(app(), { method: "GET", url, headers: alpha })).status).toBe(200);
  });
});
