import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/core/events.js";
import type { SagaState } from "../../src/core/state.js";
import { StartQuota } from "../../src/api/start-quota.js";
import { HttpError } from "../../src/api/http-errors.js";
import { SagaMetrics } from "../../src/telemetry/metrics.js";
import { OVERFLOW_LABEL } from "../../src/telemetry/label-guard.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { call, expectError } from "./support/http.js";
import { sagaIn, useService } from "./support/service.js";

const ADMIN = "quota-admin-key-0123456789";
const OTHER = "quota-other-key-0123456789";
const METRICS_TOKEN = "metrics-token-0123456789abcdef";
const as = (key: string) => ({ "x-api-key": key });

const definition = (name: string, version = 1) => ({
  name,
  version,
  steps: [{ name: "announce", kind: "publish", event: { type: "quota.tested", data: {} } }],
});

describe("API quotas and boundaries (PostgreSQL)", () => {
  const h = useService(
    {
      API_KEYS: `${ADMIN}=qa:admin,${OTHER}=qb:admin`,
      SAGA_QUOTA_STARTS_PER_SECOND: "1",
      SAGA_QUOTA_DEFINITIONS: "2",
      SAGA_MAX_EVENT_BYTES: "1024",
      METRICS_TOKEN,
    },
    { store: "postgres" },
  );
  const app = () => h.service.app;

  describe("starts per second per tenant", () => {
    it("answers 429 START_RATE_LIMITED past the tenant's bucket, and other tenants still start", async () => {
      const start = (key: string) =>
        call(app(), {
          method: "POST",
          url: "/sagas/start",
          headers: as(key),
          payload: { saga_type: "demo_order", input: { step_ms: 0 } },
        });
      // 1/s with a burst of 2: 12 starts at once cannot all pass unless they take 10 s to arrive.
      const replies = await Promise.all(Array.from({ length: 12 }, () => start(ADMIN)));
      const limited = replies.filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      for (const r of limited) {
        expectError(r, 429, "START_RATE_LIMITED");
        expect(r.body.error.details.retry_after_seconds).toBeGreaterThanOrEqual(1);
      }
      const created = replies.filter((r) => r.status === 201).length;
      const stored = await h.service.orchestrator.list({ tenantId: "qa", limit: 1000 });
      expect(stored.items).toHaveLength(created);
      expect((await start(OTHER)).status).toBe(201);
    });

    it("refills with time (injected clock)", () => {
      const clock = new FakeClock();
      const quota = new StartQuota(2, () => clock.now());
      for (let i = 0; i < 4; i++) quota.take("t"); // burst: 2 s' worth
      expect(() => quota.take("t")).toThrow(HttpError);
      quota.take("u"); // another tenant has its own bucket
      clock.advance(500);
      quota.take("t"); // 0.5 s * 2/s = one start
      expect(() => quota.take("t")).toThrow(/retry in 1 s/);
    });
  });

  describe("definitions per tenant", () => {
    it("answers 403 QUOTA_EXCEEDED past SAGA_QUOTA_DEFINITIONS; the same one again is fine", async () => {
      const register = (body: object, key = ADMIN) =>
        call(app(), { method: "POST", url: "/definitions", headers: as(key), payload: body });
      expect((await register(definition("q_one"))).status).toBe(201);
      expect((await register(definition("q_two"))).status).toBe(201);
      const third = await register(definition("q_three"));
      expectError(third, 403, "QUOTA_EXCEEDED");
      expect(third.body.error.details).toEqual({ quota: "definitions", limit: 2 });
      expect((await register(definition("q_one"))).status).toBe(200);
      expect((await register(definition("q_three"), OTHER)).status).toBe(201);
    });
  });

  describe("event size through the API", () => {
    it("answers 413 SAGA_EVENT_TOO_LARGE past SAGA_MAX_EVENT_BYTES and stores nothing", async () => {
      const stream = `big-${randomUUID()}`;
      const reply = await call(app(), {
        method: "POST",
        url: "/events/publish",
        headers: as(ADMIN),
        payload: { stream_id: stream, type: "x.happened", data: { blob: "z".repeat(2000) } },
      });
      expectError(reply, 413, "SAGA_EVENT_TOO_LARGE");
      expectError(
        await call(app(), { method: "GET", url: `/events/stream/${stream}`, headers: as(ADMIN) }),
        404,
        "STREAM_NOT_FOUND",
      );
      const small = await call(app(), {
        method: "POST",
        url: "/events/publish",
        headers: as(ADMIN),
        payload: { stream_id: stream, type: "x.happened", data: { blob: "z".repeat(100) } },
      });
      expect(small.status).toBe(201);
    });
  });

  describe("reserved forms", () => {
    it.each([
      `${randomUUID()}:charge`,
      `${randomUUID().toUpperCase()}:charge:compensate`,
      `event:${randomUUID()}:order_saga`,
      "event:sha256:abc",
    ])(
      "refuses the engine's idempotency-key form %s (400 RESERVED_IDEMPOTENCY_KEY)",
      async (key) => {
        for (const where of ["header", "body"] as const) {
          const reply = await call(app(), {
            method: "POST",
            url: "/sagas/start",
            headers: { ...as(OTHER), ...(where === "header" ? { "idempotency-key": key } : {}) },
            payload: {
              saga_type: "demo_order",
              input: {},
              ...(where === "body" ? { idempotency_key: key } : {}),
            },
          });
          expectError(reply, 400, "RESERVED_IDEMPOTENCY_KEY");
        }
      },
    );

    it.each(["x-replay-of", "X-Stream-Id", "x-correlation-id", "traceparent", "Idempotency-Key"])(
      "refuses metadata key %s, a bus header of the engine (400 RESERVED_METADATA_KEY)",
      async (name) => {
        const reply = await call(app(), {
          method: "POST",
          url: "/events/publish",
          headers: as(OTHER),
          payload: { stream_id: "s-1", type: "x.happened", metadata: { [name]: "forged" } },
        });
        expectError(reply, 400, "RESERVED_METADATA_KEY");
      },
    );
  });

  describe("X-Correlation-ID", () => {
    it.each([
      ["too long", "a".repeat(129)],
      ["a space", "abc def"],
      ["a quote", 'abc"def'],
      ["a semicolon", "abc;def"],
      ["non-ASCII", "abcé"],
      ["a slash", "a/b"],
    ])(
      "refuses one with %s: 400 INVALID_CORRELATION_ID, a fresh id in the answer",
      async (_w, id) => {
        const reply = await call(app(), {
          method: "GET",
          url: "/sagas/",
          headers: { ...as(OTHER), "x-correlation-id": id },
        });
        expectError(reply, 400, "INVALID_CORRELATION_ID");
        expect(reply.headers["x-correlation-id"]).toMatch(/^[0-9a-f-]{36}$/);
      },
    );

    it("refuses CR/LF (inject does not stop it the way Node's parser would)", async () => {
      const reply = await call(app(), {
        method: "GET",
        url: "/sagas/",
        headers: { ...as(OTHER), "x-correlation-id": "abc\r\nx-injected: 1" },
      });
      expectError(reply, 400, "INVALID_CORRELATION_ID");
      expect(reply.headers["x-injected"]).toBeUndefined();
      expect(String(reply.headers["x-correlation-id"])).not.toMatch(/[\r\n]/);
    });

    it("keeps a good one, on the answer and on the saga", async () => {
      const id = "order-42:retry_1.a";
      const reply = await call(app(), {
        method: "POST",
        url: "/sagas/start",
        headers: { ...as(OTHER), "x-correlation-id": id },
        payload: { saga_type: "demo_order", input: { step_ms: 0 } },
      });
      expect(reply.status).toBe(201);
      expect(reply.headers["x-correlation-id"]).toBe(id);
      expect(reply.body.correlation_id).toBe(id);
      expect(
        (
          await call(app(), {
            method: "GET",
            url: "/health/live",
            headers: { "x-correlation-id": "a".repeat(128) },
          })
        ).status,
      ).toBe(200);
    });

    it("refuses a bad metadata.correlation_id on publish", async () => {
      const reply = await call(app(), {
        method: "POST",
        url: "/events/publish",
        headers: as(OTHER),
        payload: { stream_id: "s-2", type: "x.happened", metadata: { correlation_id: "a b" } },
      });
      expectError(reply, 400, "INVALID_CORRELATION_ID");
    });
  });

  describe("/metrics with METRICS_TOKEN", () => {
    it("needs the bearer token: 401 METRICS_UNAUTHORIZED without it or with an API key", async () => {
      for (const headers of [
        {},
        as(ADMIN),
        { authorization: "Bearer wrong-token-0123456789" },
        { authorization: `Basic ${METRICS_TOKEN}` },
      ]) {
        expectError(
          await call(app(), { method: "GET", url: "/metrics", headers }),
          401,
          "METRICS_UNAUTHORIZED",
        );
      }
      const ok = await call(app(), {
        method: "GET",
        url: "/metrics",
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(ok.status).toBe(200);
      expect(ok.text).toContain("saga_started_total");
    });
  });

  describe("health details", () => {
    it("carry no error text of internals", async () => {
      await sagaIn(h.service, "qa", "completed");
      const health = await call(app(), { method: "GET", url: "/health" });
      expect(health.status).toBe(200);
      expect(health.text).not.toMatch(/Error|ECONN|stack|password/);
    });
  });
});

describe("metric labels chosen by tenants are bounded", () => {
  it("counts saga types and step names past the limit under __overflow__", async () => {
    const metrics = new SagaMetrics(() => Promise.resolve([]), { maxLabelValues: 3 });
    const at = Date.now();
    for (let i = 0; i < 50; i++) {
      const state = { name: `type_${i}`, steps: {}, startedAt: at } as unknown as SagaState;
      metrics.listener(state, [{ type: "SagaStarted", at } as unknown as SagaEvent]);
      metrics.listener(state, [
        {
          type: "StepFailed",
          at,
          step: `step_${i}`,
          attempt: 1,
          error: { name: "E", code: `CODE_${i}`, message: "m", retryable: true },
        } as unknown as SagaEvent,
      ]);
    }
    const text = await metrics.registry.metrics();
    const started = text.split("\n").filter((l) => l.startsWith("saga_started_total{"));
    expect(started).toHaveLength(4);
    expect(started).toContain(`saga_started_total{saga_type="${OVERFLOW_LABEL}"} 47`);
    const types = new Set([...text.matchAll(/saga_type="([^"]+)"/g)].map((m) => m[1]));
    expect([...types].sort()).toEqual([OVERFLOW_LABEL, "type_0", "type_1", "type_2"]);
    const steps = new Set([...text.matchAll(/step_name="([^"]+)"/g)].map((m) => m[1]));
    expect(steps.size).toBeLessThanOrEqual(4);
    const codes = new Set([...text.matchAll(/error_type="([^"]+)"/g)].map((m) => m[1]));
    expect(codes.size).toBeLessThanOrEqual(4);
  });

  it("a 500-character value is never a label", async () => {
    const metrics = new SagaMetrics(() => Promise.resolve([{ name: "n".repeat(500), count: 2 }]), {
      maxLabelValues: 100,
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain(`saga_running_current{saga_type="${OVERFLOW_LABEL}"} 2`);
    expect(text).not.toContain("n".repeat(129));
  });
});
