import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisStreamsBus } from "../../src/bus/redis-streams-bus.js";
import { loadConfig } from "../../src/config/config.js";
import { createService, type Service } from "../../src/service.js";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { waitUntil } from "../helpers/time.js";
import {
  deleteKeys,
  rawRedis,
  TEST_REDIS_URL,
  uniqueKeyPrefix,
  assertRedisAnswers,
} from "../helpers/redis.js";
import { assertPostgresAnswers, TEST_DATABASE_URL } from "../helpers/services.js";
import { freshSchema } from "../helpers/stores.js";

// Canary secrets: a platform secret (from SAGA_SECRETS_DIR), a tenant secret (PUT /secrets) and an
// environment variable are used by real sagas against a downstream that echoes everything it gets
// back, in long bodies and encoded (raw, base64, hex, URL- and JSON-escaped), on success and on
// failure (where the error keeps the first part of the body). Then every table of the schema, every
// Redis key of the bus, every captured log line and every API response is searched: no run of 6
// characters of a secret (12 hex digits, i.e. 6 bytes, for hex) appears anywhere.

const secret = () => randomBytes(24).toString("base64url");
const PLATFORM = secret();
const TENANT = secret();
const ENV = secret();

/** The windows that count as a fragment of `value`, in the encodings an echo may use. */
function fragments(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const out = new Set<string>();
  const windows = (text: string, size: number) => {
    for (let i = 0; i + size <= text.length; i++) out.add(text.slice(i, i + size));
  };
  windows(value, 6);
  windows(encodeURIComponent(value), 6);
  windows(bytes.toString("hex"), 12);
  windows(bytes.toString("hex").toUpperCase(), 12);
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift), bytes])
      .toString("base64")
      .replace(/=+$/, "");
    windows(b64.slice([0, 2, 3][shift], b64.length - 1), 6);
  }
  return [...out];
}

/** A body that carries `value` many ways, `value` starting at `at` (straddling a cut there). */
function echoBody(value: string, headers: unknown, at: number): string {
  const prefix = "x".repeat(at);
  return [
    prefix,
    value,
    ` b64=${Buffer.from(value).toString("base64")}`,
    ` b64url=${Buffer.from(`token:${value}`).toString("base64url")}`,
    ` hex=${Buffer.from(value).toString("hex")}`,
    ` url=${encodeURIComponent(`Bearer ${value}`)}`,
    ` json=${JSON.stringify(JSON.stringify({ value }))}`,
    ` headers=${JSON.stringify(headers)}`,
    "y".repeat(3000),
  ].join("");
}

describe("canary secrets never reach anything a tenant can read, nor the database or Redis", () => {
  const schema = freshSchema();
  const keyPrefix = uniqueKeyPrefix();
  let dir: string;
  let downstream: Server;
  let store: PostgresStore;
  let bus: RedisStreamsBus;
  let service: Service;
  let tenantFlow: object = {};
  const logs: string[] = [];
  const responses: string[] = [];
  const received: { url: string; headers: Record<string, unknown>; body: string }[] = [];

  const ACME = `acme-admin-${randomBytes(8).toString("hex")}`;
  const GLOBEX = `globex-admin-${randomBytes(8).toString("hex")}`;

  beforeAll(async () => {
    await assertPostgresAnswers();
    await assertRedisAnswers();
    downstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        received.push({ url: req.url ?? "", headers: req.headers, body });
        const everything = `${req.url ?? ""} ${JSON.stringify(req.headers)} ${body}`;
        const fail = (req.url ?? "").startsWith("/fail");
        // The first secret the request carries, echoed back at offset 1990 (an error keeps 2000).
        const carried = [PLATFORM, TENANT].find((s) => everything.includes(s)) ?? "none";
        const text = echoBody(carried, req.headers, fail ? 1990 : 100);
        if (fail) res.writeHead(500, { "content-type": "text/plain" }).end(text);
        else
          res
            .writeHead(200, { "content-type": "application/json", "x-echo": carried })
            .end(JSON.stringify({ id: "r-1", echo: text, url: req.url, body }));
      });
    });
    await new Promise<void>((r) => downstream.listen(0, "127.0.0.1", r));
    const echoUrl = `http://127.0.0.1:${(downstream.address() as AddressInfo).port}`;

    dir = mkdtempSync(join(tmpdir(), "saga-canary-"));
    const secretsDir = join(dir, "secrets");
    const definitionsDir = join(dir, "definitions");
    mkdirSync(secretsDir);
    mkdirSync(definitionsDir);
    writeFileSync(join(secretsDir, "PLATFORM_TOKEN"), `${PLATFORM}\n`, { mode: 0o600 });
    process.env.ENV_CANARY = ENV;
    const flow = (name: string, root: string, secretName: string) => ({
      name,
      version: 1,
      retry: { max_attempts: 1 },
      steps: [
        {
          name: "echo",
          request: {
            service: "echo",
            method: "POST",
            path: "/echo",
            query: { token: `{{${root}.${secretName}}}` },
            headers: { Authorization: `Bearer {{${root}.${secretName}}}` },
            body: { token: `{{${root}.${secretName}}}`, user: "{{input.user}}" },
          },
          compensation: {
            request: {
              service: "echo",
              method: "DELETE",
              path: "/echo/{{results.echo.id}}",
              headers: { Authorization: `Bearer {{${root}.${secretName}}}` },
            },
          },
        },
        {
          name: "fail",
          request: {
            service: "echo",
            method: "POST",
            path: "/fail",
            headers: { "X-Token": `{{${root}.${secretName}}}` },
          },
          compensation: "none",
        },
      ],
    });
    writeFileSync(
      join(definitionsDir, "platform_flow.json"),
      JSON.stringify(flow("platform_flow", "secrets", "PLATFORM_TOKEN")),
    );
    writeFileSync(
      join(definitionsDir, "env_flow.json"),
      JSON.stringify(flow("env_flow", "secrets", "ENV_CANARY")),
    );
    tenantFlow = flow("tenant_flow", "tenant_secrets", "TENANT_TOKEN");

    store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    bus = new RedisStreamsBus({ url: TEST_REDIS_URL, keyPrefix, blockMs: 100 });
    const logger = pino(
      { level: "trace" },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          logs.push(chunk.toString("utf8"));
          done();
        },
      }),
    );
    const config = loadConfig({
      REQUIRE_API_KEY: "true",
      API_KEYS: `${ACME}=acme:admin,${GLOBEX}=globex:admin`,
      SERVICE_ECHO_URL: echoUrl,
      SAGA_SECRETS_DIR: secretsDir,
      SAGA_DEFINITIONS_DIR: definitionsDir,
      SAGA_SECRETS_KEY: randomBytes(32).toString("base64"),
      SAGA_SHUTDOWN_GRACE_SECONDS: "1",
      LOG_LEVEL: "trace",
    });
    service = await createService(config, {
      logger,
      store,
      bus,
      builtinDefinitions: null,
    });
    await service.app.ready();
  });

  afterAll(async () => {
    await service?.close();
    await bus?.close();
    await store?.close();
    await new Promise<void>((r) => downstream.close(() => r()));
    const redis = rawRedis();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.ENV_CANARY;
  });

  const call = async (
    key: string,
    method: "GET" | "POST" | "PUT" | "DELETE",
    url: string,
    payload?: unknown,
  ) => {
    const response = await service.app.inject({
      method,
      url,
      headers: { "x-api-key": key },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    responses.push(
      `${method} ${url} ${response.statusCode} ${JSON.stringify(response.headers)} ${response.body}`,
    );
    return response;
  };
  const runToEnd = async (key: string, type: string, user: string) => {
    const start = await call(key, "POST", "/sagas/start", { saga_type: type, input: { user } });
    expect(start.statusCode).toBe(201);
    const id = start.json<{ saga_id: string }>().saga_id;
    let status = "";
    await waitUntil(
      `saga ${id} ended`,
      async () => {
        status = (await call(key, "GET", `/sagas/${id}`)).json<{ status: string }>().status;
        return ["completed", "compensated", "failed"].includes(status);
      },
      { timeoutMs: 30_000 },
    );
    return { id, status };
  };

  it("runs sagas that use every kind of secret; then no fragment is found anywhere", async () => {
    // Tenant secrets: written, listed by name only, never returned.
    expect((await call(ACME, "PUT", "/secrets/TENANT_TOKEN", { value: TENANT })).statusCode).toBe(
      201,
    );
    expect((await call(ACME, "PUT", "/secrets/TENANT_TOKEN", { value: TENANT })).statusCode).toBe(
      204,
    );
    const listed = await call(ACME, "GET", "/secrets");
    expect(listed.json()).toMatchObject({
      secrets: [{ name: "TENANT_TOKEN" }],
      encrypted_at_rest: true,
    });
    expect((await call(GLOBEX, "GET", "/secrets")).json()).toMatchObject({ secrets: [] });
    expect((await call(ACME, "PUT", "/secrets/bad.name", { value: TENANT })).statusCode).toBe(400);
    expect((await call(ACME, "PUT", "/secrets/SHORT", { value: "abc" })).json()).toMatchObject({
      error: { code: "SAGA_INVALID_SECRET" },
    });
    expect((await call(GLOBEX, "DELETE", "/secrets/TENANT_TOKEN")).json()).toMatchObject({
      error: { code: "SAGA_SECRET_NOT_FOUND" },
    });

    // A tenant's definition may not name a platform secret: refused at registration, with a code.
    const stealing = await call(ACME, "POST", "/definitions", {
      ...tenantFlow,
      name: "steal",
      steps: [
        {
          name: "s",
          request: { service: "echo", headers: { X: "{{secrets.PLATFORM_TOKEN}}" } },
          compensation: "none",
        },
      ],
    });
    expect(stealing.statusCode).toBe(400);
    expect(stealing.json()).toMatchObject({
      error: {
        code: "SAGA_INVALID_DEFINITION",
        details: [{ path: "$.steps[0].request", code: "SAGA_PLATFORM_SECRET_FORBIDDEN" }],
      },
    });
    const registered = await call(ACME, "POST", "/definitions", tenantFlow);
    expect(registered.statusCode).toBe(201);
    const registeredGlobex = await call(GLOBEX, "POST", "/definitions", tenantFlow);
    expect(registeredGlobex.statusCode).toBe(201);

    // Runs: each sends its secret, gets it echoed back, fails at "fail" and compensates "echo".
    const platformRun = await runToEnd(ACME, "platform_flow", "u-1");
    const tenantRun = await runToEnd(ACME, "tenant_flow", "u-2");
    const otherTenantRun = await runToEnd(GLOBEX, "tenant_flow", "u-3");
    const envRun = await runToEnd(ACME, "env_flow", "u-4");
    expect(platformRun.status).toBe("compensated");
    expect(tenantRun.status).toBe("compensated");
    // Globex has no TENANT_TOKEN: acme's is not reachable from another tenant.
    expect(otherTenantRun.status).toBe("compensated");
    // Nothing of the process environment is reachable: ENV_CANARY is no platform secret.
    expect(envRun.status).toBe("compensated");

    // The downstream did get the secrets (so the scan below is meaningful), with the tenant's id.
    const sent = received.map((r) => `${r.url} ${JSON.stringify(r.headers)} ${r.body}`).join("\n");
    expect(sent).toContain(`Bearer ${PLATFORM}`);
    expect(sent).toContain(`Bearer ${TENANT}`);
    expect(sent).not.toContain(ENV);
    expect(received.every((r) => r.headers["x-tenant-id"] === "acme")).toBe(true);

    const errors = await call(ACME, "GET", `/sagas/${otherTenantRun.id}`);
    expect(errors.statusCode).toBe(404); // another tenant's saga
    const globexSaga = (await call(GLOBEX, "GET", `/sagas/${otherTenantRun.id}/steps`)).body;
    expect(globexSaga).toContain("tenant secret TENANT_TOKEN is not set");
    const envSteps = (await call(ACME, "GET", `/sagas/${envRun.id}/steps`)).body;
    expect(envSteps).toContain("secret ENV_CANARY is not set");
    const platformSteps = (await call(ACME, "GET", `/sagas/${platformRun.id}/steps`)).body;
    expect(platformSteps).toContain("[redacted]"); // the echo came back, scrubbed

    // Every read a tenant has.
    for (const [key, run] of [
      [ACME, platformRun],
      [ACME, tenantRun],
      [ACME, envRun],
      [GLOBEX, otherTenantRun],
    ] as const) {
      for (const suffix of ["", "/steps", "/events", "/stream"])
        await call(key, "GET", `/sagas/${run.id}${suffix}`);
    }
    for (const key of [ACME, GLOBEX]) {
      await call(key, "GET", "/sagas/?limit=100");
      await call(key, "GET", "/definitions");
      await call(key, "GET", "/secrets");
      await call(key, "GET", "/sagas/types/available");
      await call(key, "GET", "/events/all");
    }
    await call(ACME, "GET", "/metrics");
    await call(ACME, "GET", "/health");
    // Let the outbox relay move the lifecycle events to Redis before scanning it.
    await waitUntil(
      "lifecycle events on Redis",
      async () => {
        const redis = rawRedis();
        try {
          const keys = await redis.keys(`${keyPrefix}*`);
          return keys.length > 0;
        } finally {
          redis.disconnect();
        }
      },
      { timeoutMs: 15_000 },
    );

    // PostgreSQL: every row of every table of the schema.
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    const rows: string[] = [];
    try {
      const tables = await client.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
        [schema],
      );
      expect(tables.rows.map((t) => t.table_name)).toContain("saga_tenant_secrets");
      for (const { table_name } of tables.rows) {
        const dump = await client.query<{ r: string }>(
          `SELECT row_to_json(t)::text AS r FROM "${schema}"."${table_name}" t`,
        );
        rows.push(...dump.rows.map((d) => d.r));
      }
    } finally {
      await client.end();
    }
    expect(rows.join("\n")).toContain("v1."); // the sealed tenant secret is there, encrypted

    // Redis: every key of the bus's prefix, whatever its type.
    const redis = rawRedis();
    const redisDump: string[] = [];
    try {
      for (const key of await redis.keys(`${keyPrefix}*`)) {
        const type = await redis.type(key);
        if (type === "stream") redisDump.push(JSON.stringify(await redis.xrange(key, "-", "+")));
        else if (type === "hash") redisDump.push(JSON.stringify(await redis.hgetall(key)));
        else if (type === "string") redisDump.push((await redis.get(key)) ?? "");
        else if (type === "list") redisDump.push(JSON.stringify(await redis.lrange(key, 0, -1)));
        else if (type === "set") redisDump.push(JSON.stringify(await redis.smembers(key)));
        else if (type === "zset")
          redisDump.push(JSON.stringify(await redis.zrange(key, "0", "-1")));
        redisDump.push(JSON.stringify(await redis.xinfo("GROUPS", key).catch(() => [])));
      }
    } finally {
      redis.disconnect();
    }
    expect(redisDump.join("")).toContain("saga."); // lifecycle events were relayed

    expect(logs.length).toBeGreaterThan(0);
    const places = {
      postgres: rows.join("\n"),
      redis: redisDump.join("\n"),
      logs: logs.join(""),
      api: responses.join("\n"),
    };
    const found: string[] = [];
    for (const [name, value] of Object.entries({ PLATFORM, TENANT, ENV }))
      for (const fragment of fragments(value))
        for (const [place, text] of Object.entries(places))
          if (text.includes(fragment)) found.push(`${name} fragment ${fragment} in ${place}`);
    expect(found).toEqual([]);
  });
});
