import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SagaError, TerminalError, toErrorInfo, ErrorCodes } from "../../src/core/errors.js";
import type { ConnectTarget } from "../../src/steps/http/http-client.js";
import {
  DEFAULT_HTTP_TIMEOUT_MS,
  executeHttpStep as executeStep,
  type HttpStepContext,
  type HttpStepDeps,
} from "../../src/steps/http/http-step.js";
import type { HttpStepSpec } from "../../src/steps/http/spec.js";
import { createSsrfGuard } from "../../src/steps/http/ssrf-guard.js";

// Real HTTP servers on 127.0.0.1, allowed through the service URL allowlist. Every connection
// goes through a hook that refuses (and records) anything but these servers.

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
type Handler = (req: Seen, res: ServerResponse) => void;

interface TestServer {
  url: string;
  port: number;
  seen: Seen[];
  handle: Handler;
  close(): Promise<void>;
}

async function startServer(): Promise<TestServer> {
  const state: TestServer = {
    url: "",
    port: 0,
    seen: [],
    handle: (_req, res) => res.writeHead(404).end(),
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const seen = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      state.seen.push(seen);
      state.handle(seen, res);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  };
  return state;
}

const json = (res: ServerResponse, status: number, body: unknown, headers = {}) =>
  res
    .writeHead(status, { "content-type": "application/json", ...headers })
    .end(JSON.stringify(body));

const CANARY = "canary-7Qx/+= &secret";

// The steps of this file belong to a platform definition (platform secrets allowed).
const executeHttpStep = (spec: HttpStepSpec, c: HttpStepContext, d: HttpStepDeps) =>
  executeStep(spec, c, d, { platform: true });

describe("http steps against real servers", () => {
  let users: TestServer;
  let other: TestServer;
  let closedPort: number;
  const connections: ConnectTarget[] = [];
  const violations: ConnectTarget[] = [];
  const secretLookups: string[] = [];

  beforeAll(async () => {
    users = await startServer();
    other = await startServer();
    const spare = await startServer();
    closedPort = spare.port;
    await spare.close();
  });
  afterAll(async () => {
    await users.close();
    await other.close();
  });
  afterEach(() => {
    const seen = violations.splice(0);
    users.seen.length = 0;
    other.seen.length = 0;
    connections.length = 0;
    secretLookups.length = 0;
    expect(seen).toEqual([]);
  });

  const deps = (over: Partial<HttpStepDeps> = {}): HttpStepDeps => {
    const serviceUrls = {
      user: users.url,
      other: other.url,
      down: `http://127.0.0.1:${closedPort}`,
    };
    return {
      serviceUrls,
      secrets: (name) => {
        secretLookups.push(name);
        return name === "API_TOKEN" ? CANARY : undefined;
      },
      transport: {
        guard: createSsrfGuard({ serviceUrls: Object.values(serviceUrls) }),
        connect: (target) => {
          connections.push(target);
          const ours = [users.port, other.port, closedPort].includes(target.port);
          if (target.address !== "127.0.0.1" || !ours) {
            violations.push(target);
            throw new Error("test: forbidden connection attempted");
          }
          return connect({ host: target.address, port: target.port });
        },
      },
      ...over,
    };
  };
  const ctx = (over: Partial<HttpStepContext> = {}): HttpStepContext => ({
    sagaId: "saga-1",
    sagaName: "user_onboarding",
    tenantId: "tenant-a",
    input: { userId: "u 42/../admin?x=1", email: "ada@example.com" },
    results: { previous: { workspace: 7 } },
    idempotencyKey: "saga-1:create_profile",
    signal: new AbortController().signal,
    correlationId: "corr-9",
    ...over,
  });
  const failure = async (spec: HttpStepSpec, c = ctx(), d = deps()): Promise<SagaError> => {
    const thrown = await executeHttpStep(spec, c, d).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(SagaError);
    return thrown as SagaError;
  };

  it("renders the request, maps the result, and encodes path placeholders", async () => {
    users.handle = (req, res) =>
      json(res, 201, { id: "p-1", got: JSON.parse(req.body) as unknown });
    const result = await executeHttpStep(
      {
        service: "user",
        method: "post",
        path: "/users/{{input.userId}}/profile",
        query: { workspace: "{{results.previous.workspace}}", tag: ["a", "b"], skip: null },
        headers: { "X-Trace": "t-{{saga.name}}" },
        body: { email: "{{input.email}}", workspace: "{{results.previous.workspace}}" },
        result: { id: "{{response.body.id}}", status: "{{response.status}}", saga: "{{saga.id}}" },
      },
      ctx(),
      deps(),
    );
    expect(result).toEqual({ id: "p-1", status: 201, saga: "saga-1" });
    const [seen] = users.seen;
    expect(seen).toMatchObject({
      method: "POST",
      url: "/users/u%2042%2F..%2Fadmin%3Fx%3D1/profile?workspace=7&tag=a&tag=b",
      body: JSON.stringify({ email: "ada@example.com", workspace: 7 }),
    });
    expect(seen!.headers).toMatchObject({
      "content-type": "application/json",
      accept: "application/json",
      "x-trace": "t-user_onboarding",
    });
    expect(connections).toHaveLength(1);
    // No secret used: none looked up.
    expect(secretLookups).toEqual([]);
  });

  it("returns the body by default: JSON parsed, text as a string, empty as null", async () => {
    users.handle = (req, res) => {
      if (req.url === "/json") json(res, 200, { a: [1, 2] });
      else if (req.url === "/text") res.writeHead(200, { "content-type": "text/plain" }).end("hi");
      else res.writeHead(204).end();
    };
    expect(await executeHttpStep({ service: "user", path: "/json" }, ctx(), deps())).toEqual({
      a: [1, 2],
    });
    expect(await executeHttpStep({ service: "USER", path: "text" }, ctx(), deps())).toBe("hi");
    expect(await executeHttpStep({ service: "user", path: "/empty" }, ctx(), deps())).toBeNull();
  });

  it("sends the same Idempotency-Key on every attempt and the correlation id (or the saga id)", async () => {
    let calls = 0;
    users.handle = (_req, res) => (++calls === 1 ? json(res, 503, {}) : json(res, 200, {}));
    const spec: HttpStepSpec = { service: "user", method: "POST", path: "/x", body: {} };
    await expect(executeHttpStep(spec, ctx(), deps())).rejects.toMatchObject({ retryable: true });
    await executeHttpStep(spec, ctx(), deps());
    await executeHttpStep(spec, ctx({ correlationId: null }), deps());
    expect(users.seen.map((s) => s.headers["idempotency-key"])).toEqual([
      "saga-1:create_profile",
      "saga-1:create_profile",
      "saga-1:create_profile",
    ]);
    expect(users.seen.map((s) => s.headers["x-correlation-id"])).toEqual([
      "corr-9",
      "corr-9",
      "saga-1",
    ]); // The tenant's identity goes downstream, so a service can scope what a platform token does.
    expect(users.seen.map((s) => s.headers["x-tenant-id"])).toEqual([
      "tenant-a",
      "tenant-a",
      "tenant-a",
    ]);
  });

  it("a 5xx is retryable", async () => {
    users.handle = (_req, res) => json(res, 502, { error: "bad gateway" });
    const error = await failure({ service: "user", path: "/x" });
    expect(error).not.toBeInstanceOf(TerminalError);
    expect(error).toMatchObject({ code: ErrorCodes.SAGA_HTTP_5XX, retryable: true });
    expect(error.details).toMatchObject({ status: 502, body: '{"error":"bad gateway"}' });
    expect(error.message).toMatch(/user answered 502 to GET \/x/);
  });

  it("a 429 or 503 with Retry-After carries retryAfterMs (seconds or an HTTP date)", async () => {
    users.handle = (req, res) =>
      req.url === "/seconds"
        ? json(res, 429, {}, { "retry-after": "7" })
        : json(res, 503, {}, { "retry-after": new Date(1_000_000 + 2_500).toUTCString() });
    const bySeconds = await failure({ service: "user", path: "/seconds" });
    expect(bySeconds).toMatchObject({ code: ErrorCodes.SAGA_HTTP_429, retryable: true });
    expect(bySeconds.details).toMatchObject({ status: 429, retryAfterMs: 7_000 });
    // HTTP dates have a one-second resolution: 1_002_500 is written as 1_002_000.
    const byDate = await failure(
      { service: "user", path: "/date" },
      ctx(),
      deps({ now: () => 1_000_000 }),
    );
    expect(byDate).toMatchObject({ code: ErrorCodes.SAGA_HTTP_5XX, retryable: true });
    expect(byDate.details).toMatchObject({ status: 503, retryAfterMs: 2_000 });
  });

  it("another 4xx is terminal, unless listed retryable; a custom success status passes", async () => {
    users.handle = (req, res) => json(res, req.url === "/conflict" ? 409 : 404, {});
    const notFound = await failure({ service: "user", path: "/missing" });
    expect(notFound).toBeInstanceOf(TerminalError);
    expect(notFound).toMatchObject({ code: ErrorCodes.SAGA_HTTP_4XX, retryable: false });
    const conflict = await failure({
      service: "user",
      path: "/conflict",
      retryable_statuses: [409],
    });
    expect(conflict).toMatchObject({ code: ErrorCodes.SAGA_HTTP_4XX, retryable: true });
    expect(
      await executeHttpStep(
        { service: "user", path: "/missing", success_statuses: ["2xx", 404], result: "gone" },
        ctx(),
        deps(),
      ),
    ).toBe("gone");
  });

  it("network errors are retryable; an unknown service is terminal", async () => {
    const down = await failure({ service: "down", path: "/x" });
    expect(down).toMatchObject({ code: ErrorCodes.SAGA_HTTP_NETWORK, retryable: true });
    expect(down.message).toMatch(/ECONNREFUSED/);
    const unknown = await failure({ service: "nobody" });
    expect(unknown).toMatchObject({ code: ErrorCodes.SAGA_HTTP_INVALID_REQUEST, retryable: false });
  });

  it("the attempt's timeout aborts the request; so does the step's signal", async () => {
    users.handle = () => undefined; // never answers
    const started = Date.now();
    const timedOut = await failure({ service: "user", path: "/slow", timeout_ms: 200 });
    expect(timedOut).toMatchObject({ code: ErrorCodes.SAGA_HTTP_TIMEOUT, retryable: true });
    // Well under the 10 s default: the step's own 200 ms limit, not the default, ended it.
    expect(Date.now() - started).toBeLessThan(DEFAULT_HTTP_TIMEOUT_MS - 2_000);

    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("saga cancelled")), 100);
    const aborted = await failure(
      { service: "user", path: "/slow" },
      ctx({ signal: controller.signal }),
    );
    expect(aborted).toMatchObject({ code: ErrorCodes.SAGA_HTTP_ABORTED, retryable: true });
    expect(aborted.message).toMatch(/saga cancelled/);
  });

  it("a response larger than the limit is refused, streamed or declared", async () => {
    const big = "x".repeat(2 * 1024 * 1024);
    users.handle = (req, res) => {
      if (req.url === "/declared") res.writeHead(200, { "content-length": big.length }).end(big);
      else {
        res.writeHead(200, { "content-type": "text/plain" }); // chunked, no length
        for (let i = 0; i < 32; i++) res.write("y".repeat(64 * 1024));
        res.end();
      }
    };
    for (const path of ["/declared", "/streamed"]) {
      const error = await failure({ service: "user", path });
      expect(error).toMatchObject({
        code: ErrorCodes.SAGA_HTTP_RESPONSE_TOO_LARGE,
        retryable: false,
      });
    }
    users.handle = (_req, res) => res.end("z".repeat(100));
    const small = await failure({ service: "user", path: "/", max_response_bytes: 99 });
    expect(small.code).toBe(ErrorCodes.SAGA_HTTP_RESPONSE_TOO_LARGE);
  });

  it("a success that claims JSON but is not is terminal", async () => {
    users.handle = (_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end("{nope");
    const error = await failure({ service: "user" });
    expect(error).toMatchObject({ code: ErrorCodes.SAGA_HTTP_INVALID_RESPONSE, retryable: false });
  });

  describe("redirects", () => {
    it("follows up to 3, keeping the idempotency key; 303 turns a POST into a GET", async () => {
      users.handle = (req, res) => {
        if (req.url === "/a") res.writeHead(307, { location: "/b" }).end();
        else if (req.url === "/b") res.writeHead(303, { location: `${users.url}/c` }).end();
        else json(res, 200, { at: req.url, method: req.method });
      };
      const result = await executeHttpStep(
        { service: "user", method: "POST", path: "/a", body: { n: 1 } },
        ctx(),
        deps(),
      );
      expect(result).toEqual({ at: "/c", method: "GET" });
      expect(users.seen.map((s) => [s.method, s.url, s.body])).toEqual([
        ["POST", "/a", '{"n":1}'],
        ["POST", "/b", '{"n":1}'],
        ["GET", "/c", ""],
      ]);
      expect(new Set(users.seen.map((s) => s.headers["idempotency-key"]))).toEqual(
        new Set(["saga-1:create_profile"]),
      );
    });

    it("refuses a fourth redirect, and returns a 3xx as is when max_redirects is 0", async () => {
      users.handle = (req, res) => res.writeHead(302, { location: `/r${req.url.length}` }).end();
      const tooMany = await failure({ service: "user", path: "/" });
      expect(tooMany).toMatchObject({
        code: ErrorCodes.SAGA_HTTP_REDIRECT_REFUSED,
        retryable: false,
      });
      expect(users.seen).toHaveLength(4);
      users.seen.length = 0;
      const notFollowed = await failure({ service: "user", path: "/", max_redirects: 0 });
      expect(notFollowed).toMatchObject({
        code: ErrorCodes.SAGA_HTTP_UNEXPECTED_STATUS,
        retryable: false,
      });
      expect(users.seen).toHaveLength(1);
    });

    it("a redirect to a forbidden address is refused before connecting to it", async () => {
      for (const location of [
        "http://169.254.169.254/latest/meta-data/",
        `http://127.0.0.1:${users.port + 1}/`,
        `http://localhost:${users.port}/`,
        "http://2130706433/",
      ]) {
        users.handle = (_req, res) => res.writeHead(302, { location }).end();
        connections.length = 0;
        const error = await failure({ service: "user", path: "/" });
        expect(error).toMatchObject({
          code: ErrorCodes.SAGA_HTTP_FORBIDDEN_DESTINATION,
          retryable: false,
        });
        expect(connections.map((c) => c.port)).toEqual([users.port]);
      }
    });

    it("a redirect to another origin drops credentials and headers carrying secrets", async () => {
      users.handle = (_req, res) => res.writeHead(302, { location: `${other.url}/landing` }).end();
      other.handle = (req, res) => json(res, 200, { headers: req.headers });
      await executeHttpStep(
        {
          service: "user",
          path: "/",
          headers: {
            Authorization: "Bearer {{secrets.API_TOKEN}}",
            "X-Api-Key": "{{secrets.API_TOKEN}}",
            Cookie: "session=1",
            "X-Plain": "kept",
          },
        },
        ctx(),
        deps(),
      );
      expect(users.seen[0]!.headers).toMatchObject({
        authorization: `Bearer ${CANARY}`,
        "x-api-key": CANARY,
      });
      const landed = other.seen[0]!.headers;
      expect(landed.authorization).toBeUndefined();
      expect(landed["x-api-key"]).toBeUndefined();
      expect(landed.cookie).toBeUndefined();
      expect(landed).toMatchObject({
        "x-plain": "kept",
        "idempotency-key": "saga-1:create_profile",
      });
    });

    it("refuses to re-send a body carrying a secret to another origin (307)", async () => {
      users.handle = (_req, res) => res.writeHead(307, { location: `${other.url}/steal` }).end();
      const error = await failure({
        service: "user",
        method: "POST",
        path: "/",
        body: { token: "{{secrets.API_TOKEN}}" },
      });
      expect(error).toMatchObject({
        code: ErrorCodes.SAGA_HTTP_REDIRECT_REFUSED,
        retryable: false,
      });
      expect(other.seen).toEqual([]);
    });
  });

  describe("secrets", () => {
    const expectNoCanary = (value: unknown) => {
      const shown = JSON.stringify(value);
      for (const variant of [CANARY, encodeURIComponent(CANARY), "7Qx/+="])
        expect(shown).not.toContain(variant);
    };

    it("are resolved at dispatch, sent, and redacted from the result", async () => {
      users.handle = (req, res) =>
        json(res, 200, { echoed: req.headers, url: req.url, body: req.body });
      const result = await executeHttpStep(
        {
          service: "user",
          method: "POST",
          path: "/echo",
          query: { token: "{{secrets.API_TOKEN}}" },
          headers: { Authorization: "Bearer {{secrets.API_TOKEN}}" },
          body: { token: "{{secrets.API_TOKEN}}" },
          result: { all: "{{response.body}}", headers: "{{response.headers}}" },
        },
        ctx(),
        deps(),
      );
      expect(secretLookups).toEqual(["API_TOKEN"]);
      // The server did receive the canary…
      expect(users.seen[0]!.headers.authorization).toBe(`Bearer ${CANARY}`);
      expect(JSON.parse(users.seen[0]!.body)).toEqual({ token: CANARY });
      expect(new URL(users.seen[0]!.url, users.url).searchParams.get("token")).toBe(CANARY);
      // …and the step's result has none of it.
      expectNoCanary(result);
      expect(JSON.stringify(result)).toContain("Bearer [redacted]");
      expect(result).toMatchObject({ all: { body: '{"token":"[redacted]"}' } });
    });

    it("are redacted from errors, their messages and details", async () => {
      users.handle = (req, res) =>
        res
          .writeHead(500, { "content-type": "text/plain" })
          .end(`bad token ${String(req.headers.authorization)} at ${req.url}`);
      const error = await failure({
        service: "user",
        path: "/{{secrets.API_TOKEN}}",
        headers: { Authorization: "{{secrets.API_TOKEN}}" },
      });
      expect(error).toMatchObject({ code: ErrorCodes.SAGA_HTTP_5XX, retryable: true });
      expect(users.seen[0]!.headers.authorization).toBe(CANARY);
      expectNoCanary(toErrorInfo(error));
      expectNoCanary(error.message);
      expect(error.cause).toBeUndefined();
      expect((error.details as { body: string }).body).toContain("[redacted]");
    });

    it("a missing secret is terminal and named; secrets cannot feed a result", async () => {
      const missing = await failure({ service: "user", headers: { X: "{{secrets.NOPE}}" } });
      expect(missing).toMatchObject({
        code: ErrorCodes.SAGA_HTTP_INVALID_REQUEST,
        retryable: false,
      });
      expect(missing.message).toMatch(/secret NOPE is not set/);
      const leak = await failure({ service: "user", result: "{{secrets.API_TOKEN}}" });
      expect(leak).toMatchObject({ code: ErrorCodes.SAGA_HTTP_INVALID_REQUEST, retryable: false });
      const whole = await failure({ service: "user", body: "{{secrets}}" });
      expect(whole).toMatchObject({ code: ErrorCodes.SAGA_HTTP_INVALID_REQUEST, retryable: false });
      expect(users.seen).toEqual([]);
    });
  });

  it("refuses headers the step sets itself and invalid header values", async () => {
    const reserved = await failure({ service: "user", headers: { "Idempotency-Key": "mine" } });
    expect(reserved).toMatchObject({
      code: ErrorCodes.SAGA_HTTP_INVALID_REQUEST,
      retryable: false,
    });
    const tenant = await failure({ service: "user", headers: { "X-Tenant-ID": "other" } });
    expect(tenant).toMatchObject({ code: ErrorCodes.SAGA_HTTP_INVALID_REQUEST, retryable: false });
    const crlf = await failure(
      { service: "user", headers: { "X-A": "{{input.evil}}" } },
      ctx({ input: { evil: "a\r\nX-Injected: 1" } }),
    );
    expect(crlf).toMatchObject({ code: ErrorCodes.SAGA_HTTP_INVALID_REQUEST, retryable: false });
    expect(users.seen).toEqual([]);
  });
});
