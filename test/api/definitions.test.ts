import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { createService, type Service } from "../../src/service.js";
import { waitUntil } from "../helpers/time.js";

const SECRET = "canary-7f3a9c2e-secret";
let downstream: Server;
let service: Service;
let dir: string;
const calls: { method: string; url: string; auth: string | undefined }[] = [];

const doc = (version: number, path = "/orders") => ({
  name: "order_flow",
  version,
  attributes: { orderId: "{{input.order_id}}" },
  steps: [
    {
      name: "reserve",
      request: {
        service: "shop",
        method: "POST",
        path,
        headers: { authorization: "Bearer {{tenant_secrets.SHOP_TOKEN}}" },
        body: { id: "{{input.order_id}}" },
      },
      compensation: {
        request: { service: "shop", method: "DELETE", path: "/orders/{{input.order_id}}" },
      },
    },
    {
      name: "announce",
      kind: "publish",
      event: { type: "order.reserved", data: { id: "{{input.order_id}}" } },
    },
  ],
});

beforeAll(async () => {
  downstream = createServer((req, res) => {
    calls.push({ method: req.method ?? "", url: req.url ?? "", auth: req.headers.authorization });
    req.resume();
    res
      .writeHead(201, { "content-type": "application/json" })
      .end(JSON.stringify({ ok: true, token_echo: req.headers.authorization }));
  });
  await new Promise<void>((r) => downstream.listen(0, "127.0.0.1", r));
  const shop = `http://127.0.0.1:${(downstream.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), "saga-defs-"));
  const config = loadConfig({
    SAGA_DATA_DIR: join(dir, "data"),
    SERVICE_SHOP_URL: shop,
    JWT_SECRET: "x".repeat(40),
    API_KEYS:
      "admin-key-aaaaaaaaaaaaaaaa=acme:admin,viewer-key-aaaaaaaaaaaaaa=acme:viewer,other-key-aaaaaaaaaaaaaaa=globex:admin",
  });
  service = await createService(config, { logger: false, builtinDefinitions: null });
  // A tenant's definitions use its own secrets, written through the API (never the environment).
  const put = await call("PUT", "/secrets/SHOP_TOKEN", ADMIN, { value: SECRET });
  expect(put.statusCode).toBe(201);
});
afterAll(async () => {
  await service.close();
  await new Promise<void>((r) => downstream.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const call = (method: "GET" | "POST" | "PUT", url: string, key: string, payload?: unknown) =>
  service.app.inject({
    method,
    url,
    headers: { "x-api-key": key },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
const ADMIN = "admin-key-aaaaaaaaaaaaaaaa";
const VIEWER = "viewer-key-aaaaaaaaaaaaaa";
const OTHER = "other-key-aaaaaaaaaaaaaaa";

describe("definitions API", () => {
  it("registers a definition (201), accepts the same again (200), refuses other content (409)", async () => {
    const created = await call("POST", "/definitions", ADMIN, doc(1));
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ name: "order_flow", version: 1, scope: "tenant" });
    expect((await call("POST", "/definitions", ADMIN, doc(1))).statusCode).toBe(200);
    const conflict = await call("POST", "/definitions", ADMIN, doc(1, "/other"));
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ error: { code: "SAGA_DEFINITION_CONFLICT" } });
    expect((await call("POST", "/definitions", ADMIN, doc(2, "/v2/orders"))).statusCode).toBe(201);
    const versions = await call("GET", "/definitions/order_flow/versions", VIEWER);
    expect(
      versions.json<{ versions: { version: number }[] }>().versions.map((v) => v.version),
    ).toEqual([1, 2]);
    expect((await call("GET", "/definitions/nope/versions", VIEWER)).statusCode).toBe(404);
  });

  it("answers an invalid definition with every problem and its path, storing nothing", async () => {
    const bad = await call("POST", "/definitions", ADMIN, {
      name: "broken",
      version: 1,
      steps: [
        { name: "x", kind: "teleport" },
        { name: "y", request: { service: "shop", path: "/{{results.z.id}}" } },
      ],
    });
    expect(bad.statusCode).toBe(400);
    const details = bad.json<{ error: { code: string; details: unknown[] } }>().error;
    expect(details.code).toBe("SAGA_INVALID_DEFINITION");
    expect(details.details).toEqual(
      expect.arrayContaining([
        {
          path: "$.steps[0].kind",
          code: "SAGA_INVALID_DEFINITION",
          message: expect.stringContaining("unknown step kind") as string,
        },
        expect.objectContaining({ path: "$.steps[1].compensation" }),
        expect.objectContaining({ message: expect.stringContaining('names step "z"') as string }),
      ]),
    );
    const list = await call("GET", "/definitions", VIEWER);
    expect(
      list.json<{ definitions: { name: string }[] }>().definitions.map((d) => d.name),
    ).not.toContain("broken");
  });

  it("lets only admins register, and keeps tenants apart", async () => {
    expect((await call("POST", "/definitions", VIEWER, doc(3))).statusCode).toBe(403);
    const theirs = await call("GET", "/definitions", OTHER);
    expect(theirs.json<{ definitions: unknown[] }>().definitions).toEqual([]);
    const start = await call("POST", "/sagas/start", OTHER, {
      saga_type: "order_flow",
      input: { order_id: "o-1" },
    });
    expect(start.json()).toMatchObject({ error: { code: "SAGA_UNKNOWN_TYPE" } });
    const types = await call("GET", "/sagas/types/available", VIEWER);
    expect(
      types.json<{ types: { saga_type: string }[] }>().types.map((t) => t.saga_type),
    ).toContain("order_flow");
  });

  it("runs a registered definition: http steps reach the configured service; the secret is sent but never stored", async () => {
    calls.length = 0;
    const start = await call("POST", "/sagas/start", ADMIN, {
      saga_type: "order_flow",
      version: 1,
      input: { order_id: "o-42" },
    });
    expect(start.statusCode).toBe(201);
    const id = start.json<{ saga_id: string }>().saga_id;
    await waitUntil(
      `saga ${id} completed`,
      async () =>
        (await call("GET", `/sagas/${id}`, VIEWER)).json<{ status: string }>().status ===
        "completed",
    );
    expect(calls).toEqual([{ method: "POST", url: "/orders", auth: `Bearer ${SECRET}` }]);
    const saga = (await call("GET", `/sagas/${id}`, VIEWER)).body;
    const events = (await call("GET", `/sagas/${id}/events`, VIEWER)).body;
    expect(saga).not.toContain(SECRET);
    expect(events).not.toContain(SECRET);
    expect(saga).toContain("[redacted]"); // the echoed token came back scrubbed
    expect(JSON.parse(saga)).toMatchObject({ attributes: { orderId: "o-42" } });
  });

  it("serves the JSON Schema of the format", async () => {
    const schema = await service.app.inject({ url: "/schemas/saga-definition.json" });
    expect(schema.statusCode).toBe(200);
    expect(schema.json()).toMatchObject({
      title: "Saga definition",
      type: "object",
      required: expect.arrayContaining(["name", "version", "steps"]),
    });
  });
});
