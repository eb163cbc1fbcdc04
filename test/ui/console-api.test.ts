// The console's server side: static files at /ui (built by npm ci), who-am-I, counts per status,
// the overview, dry-run validation, and the start request's fault (admins only).
import { describe, expect, it } from "vitest";
import { call, expectError } from "../api/support/http.js";
import { useService } from "../api/support/service.js";
import { percentile } from "../../src/api/routes/console-overview.js";

const KEYS = {
  viewer: "console-viewer-key-0123456789",
  operator: "console-operator-key-0123456789",
  admin: "console-admin-key-0123456789",
};
const ctx = useService({
  REQUIRE_API_KEY: "true",
  API_KEYS: `${KEYS.viewer}=acme:viewer,${KEYS.operator}=acme:operator,${KEYS.admin}=acme:admin`,
});
const as = (role: keyof typeof KEYS) => ({ "x-api-key": KEYS[role] });

async function startOrder(role: keyof typeof KEYS, body: object) {
  return call(ctx.service.app, {
    method: "POST",
    url: "/sagas/start",
    headers: as(role),
    payload: { saga_type: "demo_order", input: { step_ms: 0 }, ...body },
  });
}

describe("console static files", () => {
  it("redirects / to /ui/ and serves the built app without credentials", async () => {
    const root = await call(ctx.service.app, { method: "GET", url: "/" });
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe("/ui/");
    const index = await call(ctx.service.app, { method: "GET", url: "/ui/" });
    expect(index.status).toBe(200);
    expect(index.headers["content-type"]).toMatch(/^text\/html/);
    expect(index.headers["content-security-policy"]).toContain("default-src 'self'");
    const script = /src="\/ui\/(assets\/[^"]+\.js)"/.exec(index.text)?.[1];
    expect(script, "index.html names its script").toBeDefined();
    const js = await ctx.service.app.inject({
      method: "GET",
      url: `/ui/${script}`,
      headers: { "accept-encoding": "gzip" },
    });
    expect(js.statusCode).toBe(200);
    expect(js.headers["content-encoding"]).toBe("gzip");
    expect(js.headers["cache-control"]).toContain("immutable");
    // A deep link is the app too (the browser router takes it from there).
    const deep = await call(ctx.service.app, { method: "GET", url: "/ui/sagas/some-id" });
    expect(deep.status).toBe(200);
    expect(deep.text).toBe(index.text);
    // The files are public, the API behind them is not.
    expectError(await call(ctx.service.app, { method: "GET", url: "/sagas/" }), 401);
  });
});

describe("console API", () => {
  it("tells who is signed in", async () => {
    const me = await call(ctx.service.app, {
      method: "GET",
      url: "/console/session",
      headers: as("operator"),
    });
    expect(me.body).toMatchObject({ tenant_id: "acme", role: "operator", via: "api-key" });
    expectError(await call(ctx.service.app, { method: "GET", url: "/console/session" }), 401);
  });

  it("counts sagas per status and summarises them in the overview", async () => {
    const done = await startOrder("operator", {});
    const undone = await startOrder("operator", { input: { step_ms: 0, fail_at: "ship_order" } });
    for (const id of [done.body.saga_id as string, undone.body.saga_id as string])
      await ctx.service.orchestrator.handle(id, { tenantId: "acme" }).result();
    const summary = await call(ctx.service.app, {
      method: "GET",
      url: "/console/summary?saga_type=demo_order",
      headers: as("viewer"),
    });
    const count = (s: string) =>
      (summary.body.counts as { status: string; count: number }[]).find((c) => c.status === s)
        ?.count;
    expect(count("completed")).toBeGreaterThanOrEqual(1);
    expect(count("compensated")).toBeGreaterThanOrEqual(1);
    const overview = await call(ctx.service.app, {
      method: "GET",
      url: "/console/overview",
      headers: as("viewer"),
    });
    expect(overview.status).toBe(200);
    const totals = overview.body.totals;
    expect(totals.started).toBe(
      totals.completed + totals.compensated + totals.failed + totals.active,
    );
    expect(totals.completed).toBeGreaterThanOrEqual(1);
    expect(totals.duration_ms.p50).toBeGreaterThanOrEqual(0);
    expect(overview.body.series).toHaveLength(24);
    expect((overview.body.series as { started: number }[]).reduce((n, b) => n + b.started, 0)).toBe(
      totals.started,
    );
  });

  it("validates a definition (YAML or JSON) without registering it, with each problem's path", async () => {
    const validate = (text: string) =>
      call(ctx.service.app, {
        method: "POST",
        url: "/console/definitions/validate",
        headers: as("viewer"),
        payload: { text },
      });
    const bad = await validate(
      "name: x\nversion: 1\nsteps:\n  - name: a\n    kind: sleep\n    seconds: -1\n",
    );
    expect(bad.status).toBe(200);
    expect(bad.body.problems).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: "$.steps[0].seconds" })]),
    );
    const good = await validate(
      JSON.stringify({
        name: "nap",
        version: 1,
        steps: [{ name: "a", kind: "sleep", seconds: 1 }],
      }),
    );
    expect(good.body).toMatchObject({ problems: [], document: { name: "nap" } });
    const garbage = await validate("{ not: [json");
    expect(garbage.body.problems[0].path).toBe("$");
    const list = await call(ctx.service.app, {
      method: "GET",
      url: "/definitions",
      headers: as("viewer"),
    });
    expect((list.body.definitions as { name: string }[]).map((d) => d.name)).not.toContain("nap");
  });

  it("injects a fault only for admins, at a step the definition has", async () => {
    expectError(
      await startOrder("operator", { fault: { step: "charge_payment" } }),
      403,
      "FORBIDDEN",
    );
    expectError(
      await startOrder("admin", { fault: { step: "no_such_step" } }),
      400,
      "VALIDATION_ERROR",
    );
    expectError(await startOrder("admin", { fault: { step: "charge_payment", extra: 1 } }), 400);
    const started = await startOrder("admin", { fault: { step: "charge_payment" } });
    expect(started.status).toBe(201);
    const id = started.body.saga_id as string;
    const result = await ctx.service.orchestrator.handle(id, { tenantId: "acme" }).result();
    expect(result.status).toBe("compensated");
    const events = await call(ctx.service.app, {
      method: "GET",
      url: `/sagas/${id}/events`,
      headers: as("viewer"),
    });
    expect(events.body.events[0].data.fault).toEqual({
      step: "charge_payment",
      attempt: 1,
      phase: "forward",
      code: "SAGA_FAULT_INJECTED",
      message: "fault injected at charge_payment (forward, attempt 1)",
      retryable: false,
    });
    const types = (events.body.events as { type: string; data: { step?: string } }[]).map(
      (e) => `${e.type}${e.data.step ? ` ${e.data.step}` : ""}`,
    );
    expect(types).toContain("StepFailed charge_payment");
    expect(types).toContain("StepCompensated reserve_inventory");
    expect(types).not.toContain("StepStarted ship_order");
  });
});

describe("percentile", () => {
  it("is the nearest rank", () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5], 99)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
  });
});
