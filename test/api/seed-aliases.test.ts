import { describe, expect, it, vi } from "vitest";
import { ALIASES } from "../../src/api/routes/seed-aliases.js";
import { sagaIn, useService } from "./support/service.js";

// Opening embedded PGlite takes a minute or more on a loaded 2-core machine.
vi.setConfig({ hookTimeout: 300_000 });

const ADMIN = "admin-key-0123456789abcdef";
const VIEWER = "viewer-key-0123456789abcdef";
const OTHER = "other-tenant-key-0123456789";
const ctx = useService({
  API_KEY: ADMIN,
  REQUIRE_API_KEY: "true",
  API_KEYS: `${VIEWER}=default:viewer,${OTHER}=acme:admin`,
});

const inject = (method: "GET" | "POST", url: string, key: string | null, payload?: unknown) =>
  ctx.service.app.inject({
    method,
    url,
    headers: key ? { "x-api-key": key } : {},
    ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
  });

describe("the seeds' paths, as aliases", () => {
  it("public probes answer like the originals: /health/, /health/detailed/, /api/sagas/status/", async () => {
    for (const path of ["/health/", "/health/detailed/", "/api/sagas/status/"]) {
      const answer = await inject("GET", path, null);
      expect(answer.statusCode, path).toBe(200);
      expect(answer.json(), path).toMatchObject({
        status: "healthy",
        components: { store: { status: "up" } },
      });
    }
    const schema = await inject("GET", "/api/schema/", null);
    expect(schema.statusCode).toBe(200);
    expect(schema.json()).toMatchObject({ openapi: "3.1.0" });
  });

  it("every alias is documented in the OpenAPI document as an alias", async () => {
    const doc = (await inject("GET", "/openapi.json", null)).json<{
      paths: Record<string, Record<string, { tags?: string[]; summary?: string }>>;
    }>();
    const paths = [...ALIASES.map((a) => [a.path, a.method] as const), ["/api/schema/", "GET"]];
    for (const [path, method] of paths) {
      const openapiPath = path.replace(/:(\w+)/g, "{$1}");
      const operation = doc.paths[openapiPath]?.[method.toLowerCase()];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation!.tags).toEqual(["seed aliases"]);
      expect(operation!.summary).toMatch(/^Alias of GET|^Alias of POST/);
    }
  });

  it("/sagas (no slash) lists like /sagas/, and needs the same credentials", async () => {
    const id = await sagaIn(ctx.service, "default", "completed");
    const withSlash = await inject("GET", "/sagas/", VIEWER);
    const without = await inject("GET", "/sagas", VIEWER);
    expect(without.statusCode).toBe(200);
    expect(without.json()).toEqual(withSlash.json());
    expect(JSON.stringify(without.json())).toContain(id);
    expect((await inject("GET", "/sagas", null)).statusCode).toBe(401);
    expect((await inject("GET", "/api/v1/sagas/instances", null)).statusCode).toBe(401);
  });

  it("POST /api/v1/sagas/instances starts a saga from saga_name + context", async () => {
    const started = await inject("POST", "/api/v1/sagas/instances", ADMIN, {
      saga_name: "demo_order",
      context: { order_id: "seed-002", step_ms: 0 },
      idempotency_key: "seed-002-a",
    });
    expect(started.statusCode).toBe(201);
    const saga = started.json<{ saga_id: string; saga_type: string }>();
    expect(saga.saga_type).toBe("demo_order");
    const again = await inject("POST", "/api/v1/sagas/instances", ADMIN, {
      saga_name: "demo_order",
      context: { order_id: "seed-002", step_ms: 0 },
      idempotency_key: "seed-002-a",
    });
    expect(again.statusCode).toBe(200);
    expect(again.json<{ saga_id: string }>().saga_id).toBe(saga.saga_id);

    const one = await inject("GET", `/api/v1/sagas/instances/${saga.saga_id}`, VIEWER);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ saga_id: saga.saga_id, saga_type: "demo_order" });
  });

  it("the seed body is validated, and roles and tenancy are those of the original", async () => {
    const noName = await inject("POST", "/api/v1/sagas/instances", ADMIN, { context: {} });
    expect(noName.statusCode).toBe(400);
    expect(noName.json()).toMatchObject({ error: { code: expect.any(String) } });
    const extra = await inject("POST", "/api/v1/sagas/instances", ADMIN, {
      saga_name: "demo_order",
      saga_type: "demo_order",
    });
    expect(extra.statusCode).toBe(400);
    const unknown = await inject("POST", "/api/v1/sagas/instances", ADMIN, {
      saga_name: "no_such_saga",
    });
    const original = await inject("POST", "/sagas/start", ADMIN, { saga_type: "no_such_saga" });
    expect(original.statusCode).toBeGreaterThanOrEqual(400);
    expect(unknown.statusCode).toBe(original.statusCode);
    expect(unknown.json()).toEqual(original.json());
    // A viewer may not start sagas, through the alias either.
    const viewer = await inject("POST", "/api/v1/sagas/instances", VIEWER, {
      saga_name: "demo_order",
    });
    expect(viewer.statusCode).toBe(403);
    // Another tenant's saga is "not found", through the alias and its stream.
    const id = await sagaIn(ctx.service, "default", "completed");
    expect((await inject("GET", `/api/v1/sagas/instances/${id}`, OTHER)).statusCode).toBe(404);
    expect((await inject("GET", `/api/v1/sagas/instances/${id}/stream`, OTHER)).statusCode).toBe(
      404,
    );
  });

  it("the stream alias replays a finished saga's events as Server-Sent Events", async () => {
    const id = await sagaIn(ctx.service, "default", "completed");
    const stream = await inject("GET", `/api/v1/sagas/instances/${id}/stream`, VIEWER);
    expect(stream.statusCode).toBe(200);
    expect(stream.headers["content-type"]).toMatch(/text\/event-stream/);
    expect(stream.body).toContain("event: SagaStarted");
    expect(stream.body).toContain("event: SagaCompleted");
  });
});
