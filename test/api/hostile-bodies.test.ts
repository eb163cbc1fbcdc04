import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { call, expectError, type Reply } from "./support/http.js";
import { useService } from "./support/service.js";

// A hostile-input corpus for the HTTP API: every request body is untrusted JSON. Each case is
// answered with a 4xx and a code before any route, schema or store walks the body, and the same
// service then serves a normal request. Also: dates in queries, durations in definitions and
// configuration.

const ADMIN = "hostile-admin-key-0123456789";
const ctx = useService({ API_KEYS: `${ADMIN}=acme:admin`, REQUIRE_API_KEY: "true" });

const post = (url: string, payload: string): Promise<Reply> =>
  call(ctx.service.app, {
    method: "POST",
    url,
    headers: { "x-api-key": ADMIN, "content-type": "application/json" },
    payload,
  });
const get = (url: string): Promise<Reply> =>
  call(ctx.service.app, { method: "GET", url, headers: { "x-api-key": ADMIN } });

/** A start body whose input is `inputText` (raw JSON text, not re-encoded). */
const start = (inputText: string) => `{"saga_type":"demo_order","input":${inputText}}`;
const nested = (open: string, close: string, depth: number, inner = "1") =>
  open.repeat(depth) + inner + close.repeat(depth);

/** A normal start still works: the process kept serving. */
async function serves(): Promise<void> {
  const reply = await post("/sagas/start", start('{"step_ms":0}'));
  expect(reply.status, reply.text).toBeLessThan(300);
  const sagaId = (reply.body as { saga_id: string }).saga_id;
  const result = await ctx.service.orchestrator.handle(sagaId, { tenantId: "acme" }).result();
  expect(result.status).toBe("completed");
}

describe("hostile request bodies", () => {
  it.each<[string, number, string, string]>([
    ["nesting of 65 objects", 400, "SAGA_JSON_TOO_DEEP", start(nested('{"a":', "}", 65))],
    ["nesting of 100,000 objects", 400, "SAGA_JSON_TOO_DEEP", start(nested('{"a":', "}", 100_000))],
    ["nesting of 400,000 arrays", 400, "SAGA_JSON_TOO_DEEP", start(nested("[", "]", 400_000))],
    ["a NUL escape in a value", 400, "SAGA_JSON_BAD_STRING", start('{"name":"a\\u0000b"}')],
    ["a NUL escape in a key", 400, "SAGA_JSON_BAD_STRING", start('{"a\\u0000":1}')],
    ["a lone high surrogate", 400, "SAGA_JSON_BAD_STRING", start('["\\ud800"]')],
    ["a lone low surrogate in the type", 400, "SAGA_JSON_BAD_STRING", '{"saga_type":"\\udc00"}'],
    ["a number out of range", 400, "SAGA_JSON_BAD_NUMBER", start('{"n":1e400}')],
    ["a __proto__ key", 400, "SAGA_JSON_FORBIDDEN_KEY", start('{"__proto__":{"polluted":true}}')],
    [
      "a nested __proto__ key",
      400,
      "SAGA_JSON_FORBIDDEN_KEY",
      start('{"x":[{"__proto__":{"polluted":true}}]}'),
    ],
    [
      "constructor.prototype",
      400,
      "SAGA_JSON_FORBIDDEN_KEY",
      start('{"constructor":{"prototype":{"polluted":true}}}'),
    ],
    ["text that is not JSON", 400, "INVALID_JSON", "{saga_type: demo_order}"],
    ["an empty body", 400, "BAD_REQUEST", ""],
    ["a string over the body limit", 413, "PAYLOAD_TOO_LARGE", start(`"${"x".repeat(1_100_000)}"`)],
  ])("%s: %i %s, and the service goes on serving", async (_, status, code, body) => {
    const reply = await post("/sagas/start", body);
    expect(reply.status, reply.text.slice(0, 300)).toBe(status);
    if (code === "PAYLOAD_TOO_LARGE") expectError(reply, 413);
    else expectError(reply, status, code);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await serves();
  });

  it("accepts wide bodies, huge integers and plain `constructor` keys within the limits", async () => {
    const wide = `{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":${i}`).join(",")}}`;
    for (const input of [wide, '{"n":123456789012345678901234567890}', '{"constructor":"x"}']) {
      const reply = await post("/sagas/start", start(input));
      expect(reply.status, reply.text.slice(0, 300)).toBeLessThan(300);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("events: deep or NUL data is a 400, data over the event quota a 413; a normal publish then works", async () => {
    const publish = (data: string) =>
      post(
        "/events/publish",
        `{"stream_id":"s-${randomUUID()}","type":"x.happened","data":${data}}`,
      );
    expectError(await publish(nested('{"a":', "}", 3_000)), 400, "SAGA_JSON_TOO_DEEP");
    expectError(await publish('{"s":"\\u0000"}'), 400, "SAGA_JSON_BAD_STRING");
    expectError(await publish(`{"s":"${"x".repeat(300 * 1024)}"}`), 413, "SAGA_EVENT_TOO_LARGE");
    const ok = await publish('{"fine":true}');
    expect(ok.status, ok.text).toBe(201);
  });

  it("definitions: a sleep or timeout past its maximum is a 400 SAGA_DURATION_TOO_LONG", async () => {
    const reply = await post(
      "/definitions",
      JSON.stringify({
        name: "hostile_long",
        version: 1,
        steps: [{ name: "nap", kind: "sleep", seconds: 1e9 }],
      }),
    );
    expectError(reply, 400, "SAGA_DURATION_TOO_LONG");
    expect(reply.body.error.message).toMatch(/steps\[0\]\.seconds: is longer than the maximum/);
  });
});

describe("hostile dates in queries never answer 500", () => {
  it.each<[string, number]>([
    ["9999-12-31T23:59:59Z", 200],
    ["2024-01-01T00:00:00+14:00", 200],
    ["0000-01-01T00:00:00Z", 400],
    ["2024-02-30T00:00:00Z", 400],
    ["not-a-date", 400],
    ["+275760-09-13T00:00:00.000Z", 400],
  ])("created_after=%s -> %i", async (value, status) => {
    for (const name of ["created_after", "created_before"]) {
      const reply = await get(`/sagas/?${name}=${encodeURIComponent(value)}`);
      expect(reply.status, reply.text.slice(0, 300)).toBe(status);
    }
  });

  it.each([
    ["a year past Date's range", `+275760-09-13T00:00:00.000000Z|${randomUUID()}`],
    ["a year before PostgreSQL's", `-271821-04-20T00:00:00.000000Z|${randomUUID()}`],
    ["a bare number", `1|${randomUUID()}`],
  ])("a cursor with %s -> 400", async (_, raw) => {
    const cursor = Buffer.from(raw).toString("base64url");
    expectError(await get(`/sagas/?cursor=${cursor}`), 400);
  });
});

describe("durations in the configuration have maxima", () => {
  it.each([
    ["SAGA_LEASE_SECONDS", "3601"],
    ["SAGA_SHUTDOWN_GRACE_SECONDS", "86400"],
    ["SAGA_TIMEOUT_SECONDS", "31536001"],
    ["SAGA_STEP_TIMEOUT_SECONDS", "1e12"],
    ["SAGA_MAX_STEP_RESULT_BYTES", "1e12"],
    ["SAGA_MAX_EVENT_BYTES", "0"],
    ["SAGA_MAX_REPLAY_EVENTS", "-1"],
  ])("%s=%s is refused at start-up with one line", (name, value) => {
    let thrown: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).code).toBe("SAGA_INVALID_CONFIG");
    expect((thrown as Error).message).toContain(name);
    expect((thrown as Error).message).not.toContain("\n");
  });

  it("accepts the maxima themselves", () => {
    const config = loadConfig({
      SAGA_LEASE_SECONDS: "3600",
      SAGA_TIMEOUT_SECONDS: "31536000",
      SAGA_MAX_STEP_RESULT_BYTES: String(16 * 1024 * 1024),
    });
    expect(config.leaseSeconds).toBe(3600);
    expect(config.sagaTimeoutSeconds).toBe(31_536_000);
    expect(config.maxStepResultBytes).toBe(16 * 1024 * 1024);
  });
});
