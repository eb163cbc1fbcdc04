import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { TerminalError } from "../../src/core/errors.js";
import { demoOrderSaga } from "../../src/definitions/demo-order.js";
import { defineSaga, type SagaDefinition } from "../../src/engine/definition.js";
import type { Store } from "../../src/engine/store-port.js";
import { createService, type Service } from "../../src/service.js";
import { untilAborted } from "../helpers/engine.js";
import { waitUntil } from "../helpers/time.js";
import { storeKinds } from "../helpers/stores.js";

let undoBroken = true;
const sagas: SagaDefinition<never, never>[] = [
  demoOrderSaga(),
  defineSaga({
    name: "slow",
    steps: [
      { name: "first", action: () => "ok", compensate: () => undefined },
      { name: "wait", action: async (_ctx, { signal }) => untilAborted(signal) },
    ],
  }),
  defineSaga({
    name: "flaky_undo",
    steps: [
      {
        name: "a",
        action: () => 1,
        compensationRetry: { maxAttempts: 1 },
        compensate: () => {
          if (undoBroken) throw new Error("undo service down");
        },
      },
      {
        name: "b",
        action: () => {
          throw new TerminalError("b broke");
        },
      },
    ],
  }),
];

describe.each(storeKinds())("HTTP API endpoints: $name", (kind) => {
  let store: Store;
  let service: Service;
  let storeDown = false;
  beforeAll(async () => {
    const real = await kind.open();
    // A store whose clock read fails on demand: the health probes must notice.
    store = Object.assign(Object.create(real) as Store, {
      now: () => (storeDown ? Promise.reject(new Error("connection refused")) : real.now()),
      close: () => real.close(),
    });
    service = await createService(loadConfig({ SAGA_DATA_DIR: "unused" }), {
      sagas,
      logger: false,
      store,
      builtinDefinitions: null,
    });
  });
  afterAll(async () => {
    await service.close();
    await store.close();
  });

  const inject = (
    method: "GET" | "POST",
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) =>
    service.app.inject({
      method,
      url,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const waitForStatus = async (id: string, status: string) => {
    await waitUntil(
      `saga ${id} ${status}`,
      async () =>
        (await inject("GET", `/sagas/${id}`)).json<{ status: string }>().status === status,
    );
    return (await inject("GET", `/sagas/${id}`)).json<Record<string, unknown>>();
  };

  it("starts a saga (201), returns the same one for a repeated Idempotency-Key (200), and shows it", async () => {
    const first = await inject(
      "POST",
      "/sagas/start",
      { saga_type: "demo_order", input: { order_id: "o-1", step_ms: 5 } },
      { "idempotency-key": "req-1" },
    );
    expect(first.statusCode).toBe(201);
    const saga = first.json<{
      saga_id: string;
      status: string;
      idempotency_key: string;
      attributes: object;
    }>();
    expect(first.headers.location).toBe(`/sagas/${saga.saga_id}`);
    expect(saga).toMatchObject({
      saga_type: "demo_order",
      version: 1,
      idempotency_key: "req-1",
      attributes: { orderId: "o-1" },
    });
    const again = await inject("POST", "/sagas/start", {
      saga_type: "demo_order",
      input: {},
      idempotency_key: "req-1",
    });
    expect(again.statusCode).toBe(200);
    expect(again.json<{ saga_id: string }>().saga_id).toBe(saga.saga_id);
    const mismatch = await inject(
      "POST",
      "/sagas/start",
      { saga_type: "demo_order", idempotency_key: "a" },
      { "idempotency-key": "b" },
    );
    expect(mismatch.statusCode).toBe(400);

    const done = await waitForStatus(saga.saga_id, "completed");
    expect(done.results).toMatchObject({ ship_order: { done: "ship_order" } });
    expect(done.ended_at).toEqual(expect.any(String));

    const steps = (await inject("GET", `/sagas/${saga.saga_id}/steps`)).json<{
      steps: { name: string; status: string; attempts: number; duration_ms: number }[];
    }>();
    expect(steps.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
      ["reserve_inventory", "completed", 1],
      ["charge_payment", "completed", 1],
      ["ship_order", "completed", 1],
    ]);
    expect(steps.steps.every((s) => s.duration_ms >= 0)).toBe(true);

    const events = (await inject("GET", `/sagas/${saga.saga_id}/events`)).json<{
      events: { seq: number; type: string }[];
    }>();
    expect(events.events.map((e) => e.seq)).toEqual(events.events.map((_, i) => i + 1));
    expect(events.events[0]?.type).toBe("SagaStarted");
    expect(events.events.at(-1)?.type).toBe("SagaCompleted");
  });

  it("answers bad starts with 4xx and a machine-readable code, storing nothing", async () => {
    const before = (await inject("GET", "/sagas/?limit=1000")).json<{ items: unknown[] }>().items
      .length;
    const unknownType = await inject("POST", "/sagas/start", { saga_type: "nope" });
    expect(unknownType.statusCode).toBe(400);
    expect(unknownType.json()).toMatchObject({ error: { code: "SAGA_UNKNOWN_TYPE" } });
    const badVersion = await inject("POST", "/sagas/start", {
      saga_type: "demo_order",
      version: 7,
    });
    expect(badVersion.json()).toMatchObject({ error: { code: "SAGA_UNKNOWN_TYPE" } });
    const missing = await inject("POST", "/sagas/start", { input: {} });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({
      error: {
        code: "VALIDATION_ERROR",
        details: [expect.objectContaining({ message: expect.stringContaining("saga_type") })],
      },
    });
    const after = (await inject("GET", "/sagas/?limit=1000")).json<{ items: unknown[] }>().items
      .length;
    expect(after).toBe(before);
    expect((await inject("GET", "/sagas/not-a-uuid")).json()).toMatchObject({
      error: { code: "SAGA_NOT_FOUND" },
    });
    expect(
      (await inject("GET", "/sagas/00000000-0000-7000-8000-000000000000/steps")).statusCode,
    ).toBe(404);
  });

  it("lists with filters and pages with a cursor", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await inject("POST", "/sagas/start", {
        saga_type: "demo_order",
        input: { order_id: `list-${i % 2}`, step_ms: 1 },
      });
      ids.push(r.json<{ saga_id: string }>().saga_id);
    }
    await Promise.all(ids.map((id) => waitForStatus(id, "completed")));
    const seen: string[] = [];
    let url = "/sagas/?saga_type=demo_order&limit=2";
    for (let i = 0; i < 20; i++) {
      const page = (await inject("GET", url)).json<{
        items: { saga_id: string }[];
        next_cursor: string | null;
      }>();
      seen.push(...page.items.map((s) => s.saga_id));
      if (!page.next_cursor) break;
      url = `/sagas/?saga_type=demo_order&limit=2&cursor=${encodeURIComponent(page.next_cursor)}`;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(ids));
    const byKey = (await inject("GET", "/sagas/?orderId=list-1")).json<{
      items: { saga_id: string }[];
    }>();
    expect(byKey.items.map((s) => s.saga_id).sort()).toEqual([ids[1], ids[3]].sort());
    const completed = (
      await inject("GET", "/sagas/?status=completed,compensated&limit=1000")
    ).json<{ items: { status: string }[] }>();
    expect(completed.items.every((s) => ["completed", "compensated"].includes(s.status))).toBe(
      true,
    );
    const recent = (
      await inject(
        "GET",
        `/sagas/?created_after=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
      )
    ).json<{ items: unknown[] }>();
    expect(recent.items).toEqual([]);
    expect((await inject("GET", "/sagas/?status=sleeping")).json()).toMatchObject({
      error: { code: "VALIDATION_ERROR" },
    });
    expect((await inject("GET", "/sagas/?limit=0")).statusCode).toBe(400);
    expect((await inject("GET", "/sagas/?cursor=garbage")).json()).toMatchObject({
      error: { code: "SAGA_INVALID_INPUT" },
    });
    expect((await inject("GET", "/sagas/?created_after=yesterday")).statusCode).toBe(400);
  });

  it("cancels a running saga (202) and refuses to cancel or retry an ended one (409)", async () => {
    const { saga_id } = (await inject("POST", "/sagas/start", { saga_type: "slow" })).json<{
      saga_id: string;
    }>();
    await waitUntil(
      "the second step running",
      async () =>
        (await inject("GET", `/sagas/${saga_id}/steps`)).json<{ steps: { status: string }[] }>()
          .steps[1]?.status === "running",
    );
    const cancel = await inject("POST", `/sagas/${saga_id}/cancel`);
    expect(cancel.statusCode).toBe(202);
    const done = await waitForStatus(saga_id, "compensated");
    expect(done.reason).toBe("cancelled");
    expect((await inject("POST", `/sagas/${saga_id}/cancel`)).json()).toMatchObject({
      error: { code: "SAGA_INVALID_STATE" },
    });
    expect((await inject("POST", `/sagas/${saga_id}/retry`)).statusCode).toBe(409);
  });

  it("shows a failed compensation on /steps, and retry (202) finishes it", async () => {
    undoBroken = true;
    const { saga_id } = (await inject("POST", "/sagas/start", { saga_type: "flaky_undo" })).json<{
      saga_id: string;
    }>();
    const failed = await waitForStatus(saga_id, "failed");
    expect(failed.failed_phase).toBe("compensation");
    const steps = (await inject("GET", `/sagas/${saga_id}/steps`)).json<{
      steps: { name: string; compensation: { status: string; last_error: { message: string } } }[];
    }>();
    expect(steps.steps[0]?.compensation).toMatchObject({
      status: "failed",
      last_error: { message: "undo service down" },
    });
    undoBroken = false;
    expect((await inject("POST", `/sagas/${saga_id}/retry`)).statusCode).toBe(202);
    const compensated = await waitForStatus(saga_id, "compensated");
    expect(compensated.reason).toBe("step_failed");
  });

  it("lists the available types with versions and steps", async () => {
    const body = (await inject("GET", "/sagas/types/available")).json<{
      types: {
        saga_type: string;
        versions: { version: number; latest: boolean; steps: { name: string }[] }[];
      }[];
    }>();
    const demo = body.types.find((t) => t.saga_type === "demo_order");
    expect(demo?.versions).toEqual([expect.objectContaining({ version: 1, latest: true })]);
    expect(demo?.versions[0]?.steps.map((s) => s.name)).toEqual([
      "reserve_inventory",
      "charge_payment",
      "ship_order",
    ]);
    expect(body.types.map((t) => t.saga_type)).toEqual(["demo_order", "flaky_undo", "slow"]);
  });

  it("counts sagas in the Prometheus metrics as they run", async () => {
    const metric = async (line: string) => {
      const text = (await inject("GET", "/metrics")).body;
      const found = text.split("\n").find((l) => l.startsWith(line + " "));
      return found ? Number(found.slice(line.length + 1)) : 0;
    };
    const started = await metric('saga_started_total{saga_type="demo_order"}');
    const compensated = await metric(
      'saga_compensated_total{saga_type="demo_order",reason="step_failed"}',
    );
    const stepFailed = await metric(
      'saga_step_failed_total{saga_type="demo_order",step_name="charge_payment",error_type="SAGA_STEP_FAILED"}',
    );
    const { saga_id } = (
      await inject("POST", "/sagas/start", {
        saga_type: "demo_order",
        input: { fail_at: "charge_payment", step_ms: 1 },
      })
    ).json<{ saga_id: string }>();
    await waitForStatus(saga_id, "compensated");
    expect(await metric('saga_started_total{saga_type="demo_order"}')).toBe(started + 1);
    expect(
      await metric('saga_compensated_total{saga_type="demo_order",reason="step_failed"}'),
    ).toBe(compensated + 1);
    expect(
      await metric(
        'saga_step_failed_total{saga_type="demo_order",step_name="charge_payment",error_type="SAGA_STEP_FAILED"}',
      ),
    ).toBe(stepFailed + 1);
    expect(
      await metric(
        'saga_compensation_executed_total{saga_type="demo_order",step_name="reserve_inventory",outcome="success"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await metric('saga_duration_seconds_count{saga_type="demo_order",status="compensated"}'),
    ).toBeGreaterThanOrEqual(1);

    const slow = (await inject("POST", "/sagas/start", { saga_type: "slow" })).json<{
      saga_id: string;
    }>();
    await waitUntil(
      "a slow saga counted as running",
      async () => (await metric('saga_running_current{saga_type="slow"}')) >= 1,
    );
    await inject("POST", `/sagas/${slow.saga_id}/cancel`);
    await waitForStatus(slow.saga_id, "compensated");
    expect(await metric('saga_failed_total{saga_type="slow"}')).toBeGreaterThanOrEqual(1);
    expect(
      await metric('saga_failed_by_reason_total{saga_type="slow",reason="cancelled"}'),
    ).toBeGreaterThanOrEqual(1);
  });

  it("streams a saga's transitions in order over SSE and closes at the end; Last-Event-ID resumes", async () => {
    await service.app.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
    const { saga_id } = (
      await inject("POST", "/sagas/start", {
        saga_type: "demo_order",
        input: { step_ms: 100, fail_at: "ship_order" },
      })
    ).json<{ saga_id: string }>();
    const read = async (headers: Record<string, string> = {}) => {
      const response = await fetch(`${base}/sagas/${saga_id}/stream`, {
        headers,
        signal: AbortSignal.timeout(20_000),
      });
      expect(response.headers.get("content-type")).toContain("text/event-stream");
      const text = await response.text(); // resolves only when the server closes the stream
      return [...text.matchAll(/^id: (\d+)\nevent: (\w+)\n/gm)].map(
        (m) => [Number(m[1]), m[2]] as const,
      );
    };
    const all = await read();
    expect(all.map(([seq]) => seq)).toEqual(all.map((_, i) => i + 1));
    expect(all.map(([, type]) => type)).toEqual([
      "SagaStarted",
      "StepStarted",
      "StepCompleted",
      "StepStarted",
      "StepCompleted",
      "StepStarted",
      "StepFailed",
      "SagaCompensationStarted",
      "StepCompensationStarted",
      "StepCompensated",
      "StepCompensationStarted",
      "StepCompensated",
      "SagaCompensated",
    ]);
    const resumed = await read({ "last-event-id": "10" });
    expect(resumed.map(([seq]) => seq)).toEqual([11, 12, 13]);
    const missing = await fetch(`${base}/sagas/00000000-0000-7000-8000-000000000000/stream`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "SAGA_NOT_FOUND" } });
  });

  it("documents every route in /openapi.json and serves /docs", async () => {
    const doc = (await inject("GET", "/openapi.json")).json<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    }>();
    expect(doc.openapi).toMatch(/^3\./);
    const routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        "POST /sagas/start",
        "GET /sagas/",
        "GET /sagas/{id}",
        "GET /sagas/{id}/steps",
        "GET /sagas/{id}/events",
        "POST /sagas/{id}/cancel",
        "POST /sagas/{id}/retry",
        "GET /sagas/types/available",
        "GET /sagas/{id}/stream",
        "GET /health",
        "GET /health/ready",
        "GET /health/live",
        "GET /metrics",
      ]),
    );
    const docs = await inject("GET", "/docs/");
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain("swagger");
  });

  it("reports health per component; ready fails (503) while the store is down", async () => {
    const healthy = await inject("GET", "/health");
    expect(healthy.statusCode).toBe(200);
    expect(healthy.json()).toMatchObject({
      status: "healthy",
      components: { store: { status: "up" }, workers: { status: "up" } },
    });
    expect((await inject("GET", "/health/ready")).statusCode).toBe(200);
    storeDown = true;
    try {
      const ready = await inject("GET", "/health/ready");
      expect(ready.statusCode).toBe(503);
      // The store's own error text (hosts, users, paths) stays in the log.
      expect(ready.json()).toEqual({ status: "not_ready", reason: "store: not answering" });
      const health = await inject("GET", "/health");
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({
        status: "unhealthy",
        components: { store: { status: "down", error: "not answering" } },
      });
      expect(health.body).not.toMatch(/refused|ECONN|127\.0\.0\.1|password/i);
      expect((await inject("GET", "/health/live")).statusCode).toBe(200);
    } finally {
      storeDown = false;
    }
  });

  it("answers unknown routes with a JSON 404 and echoes the correlation id", async () => {
    const response = await inject("GET", "/nowhere", undefined, { "x-correlation-id": "corr-42" });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: { code: "ROUTE_NOT_FOUND", message: "no route GET /nowhere" },
    });
    expect(response.headers["x-correlation-id"]).toBe("corr-42");
    const started = await inject(
      "POST",
      "/sagas/start",
      { saga_type: "demo_order", input: { step_ms: 1 } },
      { "x-correlation-id": "corr-43" },
    );
    expect(started.json<{ correlation_id: string }>().correlation_id).toBe("corr-43");
  });
});
