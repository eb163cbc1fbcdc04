import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type { InjectOptions } from "fastify";
import { beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../helpers/time.js";
import { call, expectError, type Reply } from "./support/http.js";
import { sagaIn, useService } from "./support/service.js";
import { bearer, signToken, unsignedToken } from "./support/tokens.js";

const SECRET = "jwt-secret-for-tests-0123456789abcdefghij";
const OTHER_SECRET = "someone-elses-secret-0123456789abcdefghij";
const ADMIN_KEY = "root-admin-key-0123456789";
const KEYS = {
  acmeViewer: "acme-viewer-key-0123456789",
  acmeOperator: "acme-operator-key-0123456789",
  globexAdmin: "globex-admin-key-0123456789",
};
const STRICT_ENV = {
  REQUIRE_API_KEY: "true",
  API_KEY: ADMIN_KEY,
  API_KEYS: `${KEYS.acmeViewer}=acme:viewer,${KEYS.acmeOperator}=acme:operator,${KEYS.globexAdmin}=globex:admin`,
  JWT_SECRET: SECRET,
  SAGA_BODY_LIMIT_BYTES: "2048",
};
const JWT_TENANT = "initech";

type Role = "viewer" | "operator" | "admin";
type Target = "none" | "completed" | "running" | "failed";

interface Endpoint {
  name: string;
  method: "GET" | "POST";
  path: (id: string) => string;
  needs: Role;
  /** The saga the call acts on, made in the caller's tenant. */
  target: Target;
  okStatus: number;
  payload?: object;
}

const START_BODY = { saga_type: "demo_order", input: { step_ms: 0 } };
const ENDPOINTS: Endpoint[] = [
  {
    name: "POST /sagas/start",
    method: "POST",
    path: () => "/sagas/start",
    needs: "operator",
    target: "none",
    okStatus: 201,
    payload: START_BODY,
  },
  {
    name: "GET /sagas/",
    method: "GET",
    path: () => "/sagas/",
    needs: "viewer",
    target: "none",
    okStatus: 200,
  },
  {
    name: "GET /sagas/types/available",
    method: "GET",
    path: () => "/sagas/types/available",
    needs: "viewer",
    target: "none",
    okStatus: 200,
  },
  {
    name: "GET /sagas/{id}",
    method: "GET",
    path: (id) => `/sagas/${id}`,
    needs: "viewer",
    target: "completed",
    okStatus: 200,
  },
  {
    name: "GET /sagas/{id}/steps",
    method: "GET",
    path: (id) => `/sagas/${id}/steps`,
    needs: "viewer",
    target: "completed",
    okStatus: 200,
  },
  {
    name: "GET /sagas/{id}/events",
    method: "GET",
    path: (id) => `/sagas/${id}/events`,
    needs: "viewer",
    target: "completed",
    okStatus: 200,
  },
  {
    name: "GET /sagas/{id}/stream",
    method: "GET",
    path: (id) => `/sagas/${id}/stream`,
    needs: "viewer",
    target: "completed",
    okStatus: 200,
  },
  {
    name: "POST /sagas/{id}/cancel",
    method: "POST",
    path: (id) => `/sagas/${id}/cancel`,
    needs: "operator",
    target: "running",
    okStatus: 202,
  },
  {
    name: "POST /sagas/{id}/retry",
    method: "POST",
    path: (id) => `/sagas/${id}/retry`,
    needs: "operator",
    target: "failed",
    okStatus: 202,
  },
];

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
const claims = (extra: Record<string, unknown> = {}) => ({
  tenant: JWT_TENANT,
  roles: ["admin"],
  sub: "user-1",
  ...extra,
});

/** Tokens are signed once per file; cases read them lazily. */
const tokens: Record<string, string> = {};
const token = (name: string) => {
  const value = tokens[name];
  if (value === undefined) throw new Error(`no token ${name}`);
  return value;
};

beforeAll(async () => {
  const without = (name: string) =>
    Object.fromEntries(Object.entries(claims()).filter(([k]) => k !== name));
  const noRoles = without("roles");
  const noTenant = without("tenant");
  Object.assign(tokens, {
    viewer: await signToken(SECRET, claims({ roles: ["viewer"], sub: "viewer-1" })),
    operator: await signToken(SECRET, claims({ roles: ["operator"], sub: "operator-1" })),
    admin: await signToken(SECRET, claims({ roles: ["admin"], sub: "admin-1" })),
    operatorAsString: await signToken(SECRET, claims({ roles: "operator", sub: "operator-2" })),
    viewerAndOperator: await signToken(
      SECRET,
      claims({ roles: ["viewer", "billing", "operator"], sub: "mixed-1" }),
    ),
    expired: await signToken(SECRET, claims(), { expiresIn: -120 }),
    forged: await signToken(OTHER_SECRET, claims()),
    hs512: await signToken(SECRET, claims(), { alg: "HS512" }),
    noExp: await signToken(SECRET, claims(), { expiresIn: null }),
    noTenant: await signToken(SECRET, noTenant),
    badTenant: await signToken(SECRET, claims({ tenant: "../acme tenant" })),
    numericTenant: await signToken(SECRET, claims({ tenant: 42 })),
    noRoles: await signToken(SECRET, noRoles),
    unknownRole: await signToken(SECRET, claims({ roles: ["superuser", "root"] })),
    emptyRoles: await signToken(SECRET, claims({ roles: [] })),
    constructorRole: await signToken(SECRET, claims({ roles: ["constructor"] })),
    toStringRole: await signToken(SECRET, claims({ roles: "toString" })),
    none: unsignedToken(claims()),
  });
});

interface Rejected {
  name: string;
  headers: () => Record<string, string>;
  status: 401 | 403;
  code: string;
}

const REJECTED: Rejected[] = [
  { name: "no credentials", headers: () => ({}), status: 401, code: "UNAUTHORIZED" },
  {
    name: "a wrong API key",
    headers: () => ({ "x-api-key": "not-a-key-0123456789abc" }),
    status: 401,
    code: "INVALID_API_KEY",
  },
  {
    name: "the API key with a different case",
    headers: () => ({ "x-api-key": ADMIN_KEY.toUpperCase() }),
    status: 401,
    code: "INVALID_API_KEY",
  },
  {
    name: "a wrong API key next to a valid token",
    headers: () => ({ "x-api-key": "not-a-key-0123456789abc", ...bearer(token("admin")) }),
    status: 401,
    code: "INVALID_API_KEY",
  },
  {
    name: "an expired token",
    headers: () => bearer(token("expired")),
    status: 401,
    code: "TOKEN_EXPIRED",
  },
  {
    name: "a token signed with another secret",
    headers: () => bearer(token("forged")),
    status: 401,
    code: "INVALID_TOKEN",
  },
  {
    name: "an unsigned alg=none token",
    headers: () => bearer(token("none")),
    status: 401,
    code: "INVALID_TOKEN",
  },
  {
    name: "an HS512 token (only HS256 is accepted)",
    headers: () => bearer(token("hs512")),
    status: 401,
    code: "INVALID_TOKEN",
  },
  {
    name: "a token without exp",
    headers: () => bearer(token("noExp")),
    status: 401,
    code: "INVALID_TOKEN",
  },
  {
    name: "a token without the tenant claim",
    headers: () => bearer(token("noTenant")),
    status: 401,
    code: "INVALID_TOKEN",
  },
  {
    name: "a token with a path-like tenant",
    headers: () => bearer(token("badTenant")),
    status: 401,
    code: "INVALID_TOKEN",
  },
  {
    name: "a token with a numeric tenant",
    headers: () => bearer(token("numericTenant")),
    status: 401,
    code: "INVALID_TOKEN",
  },
  {
    name: "a token that is not a JWT",
    headers: () => bearer("not-a-jwt"),
    status: 401,
    code: "INVALID_TOKEN",
  },
  {
    name: "Authorization: Basic",
    headers: () => ({ authorization: "Basic dXNlcjpwYXNz" }),
    status: 401,
    code: "INVALID_TOKEN",
  },
  {
    name: "Authorization: Bearer without a token",
    headers: () => ({ authorization: "Bearer" }),
    status: 401,
    code: "INVALID_TOKEN",
  },
  {
    name: "Authorization: Bearer with two tokens",
    headers: () => ({ authorization: `Bearer ${token("admin")} ${token("admin")}` }),
    status: 401,
    code: "INVALID_TOKEN",
  },
  {
    name: "a token without roles",
    headers: () => bearer(token("noRoles")),
    status: 403,
    code: "FORBIDDEN",
  },
  {
    name: "a token with only unknown roles",
    headers: () => bearer(token("unknownRole")),
    status: 403,
    code: "FORBIDDEN",
  },
  {
    name: "a token with an empty roles list",
    headers: () => bearer(token("emptyRoles")),
    status: 403,
    code: "FORBIDDEN",
  },
  {
    name: 'a token whose only role is "constructor"',
    headers: () => bearer(token("constructorRole")),
    status: 403,
    code: "FORBIDDEN",
  },
  {
    name: 'a token whose only role is "toString"',
    headers: () => bearer(token("toStringRole")),
    status: 403,
    code: "FORBIDDEN",
  },
];

interface Caller {
  name: string;
  tenant: string;
  role: Role;
  headers: () => Record<string, string>;
}

const CALLERS: Caller[] = [
  {
    name: "API_KEY",
    tenant: "default",
    role: "admin",
    headers: () => ({ "x-api-key": ADMIN_KEY }),
  },
  {
    name: "API_KEYS acme:viewer",
    tenant: "acme",
    role: "viewer",
    headers: () => ({ "x-api-key": KEYS.acmeViewer }),
  },
  {
    name: "API_KEYS acme:operator",
    tenant: "acme",
    role: "operator",
    headers: () => ({ "x-api-key": KEYS.acmeOperator }),
  },
  {
    name: "API_KEYS globex:admin",
    tenant: "globex",
    role: "admin",
    headers: () => ({ "x-api-key": KEYS.globexAdmin }),
  },
  {
    name: "JWT viewer",
    tenant: JWT_TENANT,
    role: "viewer",
    headers: () => bearer(token("viewer")),
  },
  {
    name: "JWT operator",
    tenant: JWT_TENANT,
    role: "operator",
    headers: () => bearer(token("operator")),
  },
  {
    name: "JWT admin",
    tenant: JWT_TENANT,
    role: "admin",
    headers: () => bearer(token("admin")),
  },
  {
    name: 'JWT roles: "operator" (a string)',
    tenant: JWT_TENANT,
    role: "operator",
    headers: () => bearer(token("operatorAsString")),
  },
  {
    name: "JWT roles: [viewer, billing, operator] (highest known wins)",
    tenant: JWT_TENANT,
    role: "operator",
    headers: () => bearer(token("viewerAndOperator")),
  },
];

const request = (ep: Endpoint, id: string, headers: Record<string, string>): InjectOptions => ({
  method: ep.method,
  url: ep.path(id),
  headers,
  ...(ep.payload ? { payload: ep.payload } : {}),
});

describe("API auth with REQUIRE_API_KEY=true, API_KEY, API_KEYS and JWT_SECRET", () => {
  const h = useService(STRICT_ENV);
  const app = () => h.service.app;
  const orchestrator = () => h.service.orchestrator;

  describe("refused credentials, on every protected endpoint", () => {
    const targets: Record<Target, string> = {
      none: "",
      completed: "",
      running: "",
      failed: "",
    };
    let sagasBefore = 0;

    beforeAll(async () => {
      targets.completed = await sagaIn(h.service, "default", "completed");
      targets.running = await sagaIn(h.service, "default", "running");
      targets.failed = await sagaIn(h.service, "default", "failed");
      sagasBefore = (await orchestrator().list({ tenantId: "default", limit: 1000 })).items.length;
    });

    describe.each(ENDPOINTS)("$name", (ep) => {
      it.each(REJECTED)("$name -> $status $code", async (c) => {
        const reply = await call(app(), request(ep, targets[ep.target], c.headers()));
        expectError(reply, c.status, c.code);
      });
    });

    it("changed nothing: no saga started, the running one not cancelled, the failed one not retried", async () => {
      const page = await orchestrator().list({ tenantId: "default", limit: 1000 });
      expect(page.items).toHaveLength(sagasBefore);
      const running = await orchestrator().get(targets.running, { tenantId: "default" });
      expect(running?.status).toBe("running");
      expect(running?.reason).toBeNull();
      const failed = await orchestrator().events(targets.failed, { tenantId: "default" });
      expect(failed.map((e) => e.type)).not.toContain("SagaRetried");
    });
  });

  describe.each(CALLERS)("accepted credentials: $name ($tenant, $role)", (caller) => {
    it.each(ENDPOINTS)("$name", async (ep) => {
      const tenantId = caller.tenant;
      const id = ep.target === "none" ? "" : await sagaIn(h.service, tenantId, ep.target);
      const before = (await orchestrator().list({ tenantId, limit: 1000 })).items.length;
      const eventsBefore = id ? (await orchestrator().events(id, { tenantId })).length : 0;
      const reply = await call(app(), request(ep, id, caller.headers()));

      if (RANK[caller.role] < RANK[ep.needs]) {
        expectError(reply, 403, "FORBIDDEN");
        expect(reply.body.error.message).toContain(ep.needs);
        expect((await orchestrator().list({ tenantId, limit: 1000 })).items).toHaveLength(before);
        if (id) {
          expect(await orchestrator().events(id, { tenantId })).toHaveLength(eventsBefore);
          const state = await orchestrator().get(id, { tenantId });
          expect(state?.status).toBe(ep.target);
        }
        return;
      }

      expect(reply.status, reply.text).toBe(ep.okStatus);
      await expectEffect(ep, id, tenantId, reply);
    });
  });

  /** What an allowed call did, checked in the caller's tenant. */
  async function expectEffect(ep: Endpoint, id: string, tenantId: string, reply: Reply) {
    const o = orchestrator();
    switch (ep.name) {
      case "POST /sagas/start": {
        const created = await o.get(reply.body.saga_id as string, { tenantId });
        expect(created?.tenantId).toBe(tenantId);
        expect(reply.headers.location).toBe(`/sagas/${reply.body.saga_id}`);
        break;
      }
      case "GET /sagas/":
        expect(Array.isArray(reply.body.items)).toBe(true);
        for (const item of reply.body.items as { saga_id: string }[])
          expect(await o.get(item.saga_id, { tenantId })).not.toBeNull();
        break;
      case "GET /sagas/types/available":
        expect((reply.body.types as { saga_type: string }[]).map((t) => t.saga_type)).toEqual([
          "demo_order",
          "stuck_order",
        ]);
        break;
      case "GET /sagas/{id}":
        expect(reply.body).toMatchObject({ saga_id: id, status: "completed" });
        break;
      case "GET /sagas/{id}/steps":
        expect(reply.body.saga_id).toBe(id);
        expect(reply.body.steps).toHaveLength(3);
        break;
      case "GET /sagas/{id}/events":
        expect((reply.body.events as { type: string }[]).at(-1)?.type).toBe("SagaCompleted");
        break;
      case "GET /sagas/{id}/stream":
        expect(String(reply.headers["content-type"])).toMatch(/^text\/event-stream/);
        expect(reply.text).toContain("event: SagaStarted");
        expect(reply.text).toContain("event: SagaCompleted");
        break;
      case "POST /sagas/{id}/cancel":
        expect(reply.body.saga_id).toBe(id);
        await waitUntil(
          "the cancelled saga compensated",
          async () => (await o.get(id, { tenantId }))?.status === "compensated",
        );
        expect((await o.get(id, { tenantId }))?.reason).toBe("cancelled");
        break;
      case "POST /sagas/{id}/retry":
        expect(reply.body.saga_id).toBe(id);
        expect((await o.events(id, { tenantId })).map((e) => e.type)).toContain("SagaRetried");
        break;
      default:
        throw new Error(`no effect check for ${ep.name}`);
    }
  }

  it("API_KEYS entries give their stated tenant and role", async () => {
    const viewer = { "x-api-key": KEYS.acmeViewer };
    const operator = { "x-api-key": KEYS.acmeOperator };
    const started = await call(app(), {
      method: "POST",
      url: "/sagas/start",
      headers: operator,
      payload: START_BODY,
    });
    expect(started.status).toBe(201);
    const id = started.body.saga_id as string;
    expect((await orchestrator().get(id, { tenantId: "acme" }))?.tenantId).toBe("acme");
    expect(await orchestrator().get(id, { tenantId: "default" })).toBeNull();

    expect(
      (await call(app(), { method: "GET", url: `/sagas/${id}`, headers: viewer })).status,
    ).toBe(200);
    for (const other of [{ "x-api-key": KEYS.globexAdmin }, { "x-api-key": ADMIN_KEY }]) {
      const reply = await call(app(), { method: "GET", url: `/sagas/${id}`, headers: other });
      expectError(reply, 404, "SAGA_NOT_FOUND");
    }
    const refused = await call(app(), {
      method: "POST",
      url: "/sagas/start",
      headers: viewer,
      payload: START_BODY,
    });
    expectError(refused, 403, "FORBIDDEN");
    expect(refused.body.error.message).toContain("viewer");
  });

  it("serves the public endpoints without credentials", async () => {
    const get = (url: string) => call(app(), { method: "GET", url });
    for (const url of ["/health", "/health/ready", "/health/live"]) {
      expect((await get(url)).status, url).toBe(200);
    }
    const metrics = await get("/metrics");
    expect(metrics.status).toBe(200);
    expect(String(metrics.headers["content-type"])).toMatch(/^text\/plain/);
    const openapi = await get("/openapi.json");
    expect(openapi.status).toBe(200);
    expect(openapi.body.openapi).toBe("3.1.0");
    expect(Object.keys(openapi.body.paths as object)).toContain("/sagas/start");
    const docs = await get("/docs");
    expect([200, 301, 302]).toContain(docs.status);
    if (docs.status !== 200) expect(docs.headers.location).toMatch(/^(\/docs|\.\/)/);

    for (const reply of [metrics, openapi, await get("/health")]) {
      for (const secret of [SECRET, ADMIN_KEY, ...Object.values(KEYS)])
        expect(reply.text).not.toContain(secret);
    }
  });

  it("does not let a /docs-prefixed path reach a protected route", async () => {
    for (const url of ["/docs/../sagas/", "/docs/%2e%2e/sagas/", "/docsx/../sagas/"]) {
      const reply = await call(app(), { method: "GET", url });
      expect(reply.status, `${url}: ${reply.text.slice(0, 200)}`).not.toBe(200);
      expect(reply.text).not.toContain("saga_id");
    }
  });

  describe("every kind of error is { error: { code, message } } without a stack trace", () => {
    const key = { "x-api-key": ADMIN_KEY };
    let done = "";
    beforeAll(async () => {
      done = await sagaIn(h.service, "default", "completed");
    });
    const start = (payload: unknown, headers: Record<string, string> = {}): InjectOptions => ({
      method: "POST",
      url: "/sagas/start",
      headers: { ...key, ...headers },
      payload: payload as object,
    });
    const cases: [string, () => InjectOptions, number, string][] = [
      ["unknown route", () => ({ method: "GET", url: "/nowhere" }), 404, "ROUTE_NOT_FOUND"],
      [
        "unknown method",
        () => ({ method: "DELETE", url: "/sagas/", headers: key }),
        404,
        "ROUTE_NOT_FOUND",
      ],
      [
        "unknown saga",
        () => ({ method: "GET", url: `/sagas/${randomUUID()}`, headers: key }),
        404,
        "SAGA_NOT_FOUND",
      ],
      [
        "saga id that is not a uuid",
        () => ({ method: "GET", url: "/sagas/not-a-uuid/steps", headers: key }),
        404,
        "SAGA_NOT_FOUND",
      ],
      [
        "cancel of a completed saga",
        () => ({ method: "POST", url: `/sagas/${done}/cancel`, headers: key }),
        409,
        "SAGA_INVALID_STATE",
      ],
      [
        "retry of a completed saga",
        () => ({ method: "POST", url: `/sagas/${done}/retry`, headers: key }),
        409,
        "SAGA_INVALID_STATE",
      ],
      [
        "unknown status filter",
        () => ({ method: "GET", url: "/sagas/?status=lost", headers: key }),
        400,
        "VALIDATION_ERROR",
      ],
      [
        "limit out of range",
        () => ({ method: "GET", url: "/sagas/?limit=0", headers: key }),
        400,
        "VALIDATION_ERROR",
      ],
      [
        "forged cursor",
        () => ({ method: "GET", url: "/sagas/?cursor=Zm9vfGJhcg", headers: key }),
        400,
        "SAGA_INVALID_INPUT",
      ],
      [
        "created_after that is not a date-time",
        () => ({ method: "GET", url: "/sagas/?created_after=yesterday", headers: key }),
        400,
        "VALIDATION_ERROR",
      ],
      ["unknown saga type", () => start({ saga_type: "nope" }), 400, "SAGA_UNKNOWN_TYPE"],
      [
        "unknown version",
        () => start({ saga_type: "demo_order", version: 9 }),
        400,
        "SAGA_UNKNOWN_TYPE",
      ],
      [
        "idempotency header and body differ",
        () => start({ saga_type: "demo_order", idempotency_key: "b" }, { "idempotency-key": "a" }),
        400,
        "VALIDATION_ERROR",
      ],
      ["body that is an array", () => start([]), 400, "VALIDATION_ERROR"],
    ];

    it.each(cases)("%s -> %i %s", async (_name, options, status, code) => {
      expectError(await call(app(), options()), status, code);
    });

    // Errors raised by the router itself, before any hook or the error handler runs.
    it.each([
      ["a saga id longer than the router allows (101 chars)", `/sagas/${"x".repeat(101)}`],
      ["a path with broken percent-encoding", "/sagas/%E0%A4%A"],
    ])("%s -> 4xx", async (_name, url) => {
      const reply = await call(app(), { method: "GET", url, headers: key });
      expect([400, 404, 414]).toContain(reply.status);
    });
  });

  describe("request bodies (SAGA_BODY_LIMIT_BYTES=2048)", () => {
    const key = { "x-api-key": ADMIN_KEY };
    const count = async () =>
      (await orchestrator().list({ tenantId: "default", limit: 1000 })).items.length;

    it("answers 413 with the JSON error shape to a body over the limit, and stores nothing", async () => {
      const before = await count();
      const payload = JSON.stringify({
        saga_type: "demo_order",
        input: { order_id: "big", note: "x".repeat(3000) },
      });
      const reply = await call(app(), {
        method: "POST",
        url: "/sagas/start",
        headers: { ...key, "content-type": "application/json" },
        payload,
      });
      expectError(reply, 413, "PAYLOAD_TOO_LARGE");
      expect(await count()).toBe(before);
    });

    it("answers 413 to a chunked body (no content-length) that grows over the limit", async () => {
      const before = await count();
      const chunks = ['{"saga_type":"demo_order","input":{"note":"', "y".repeat(4000), '"}}'];
      const reply = await call(app(), {
        method: "POST",
        url: "/sagas/start",
        headers: { ...key, "content-type": "application/json" },
        payload: Readable.from(chunks),
      });
      expectError(reply, 413, "PAYLOAD_TOO_LARGE");
      expect(await count()).toBe(before);
    });

    it.each(["application/x-www-form-urlencoded", "application/xml", "multipart/form-data"])(
      "answers 415 with the JSON error shape to content type %s",
      async (type) => {
        const reply = await call(app(), {
          method: "POST",
          url: "/sagas/start",
          headers: { ...key, "content-type": type },
          payload: "saga_type=demo_order",
        });
        expectError(reply, 415, "UNSUPPORTED_MEDIA_TYPE");
      },
    );

    it("answers 415 to a text/plain body (a CORS-simple type) instead of parsing it", async () => {
      const reply = await call(app(), {
        method: "POST",
        url: "/sagas/start",
        headers: { ...key, "content-type": "text/plain" },
        payload: JSON.stringify(START_BODY),
      });
      expectError(reply, 415, "UNSUPPORTED_MEDIA_TYPE");
    });

    it("answers 400 with the JSON error shape to malformed JSON", async () => {
      for (const payload of ['{"saga_type": ', "{'saga_type':'demo_order'}", "nul"]) {
        const reply = await call(app(), {
          method: "POST",
          url: "/sagas/start",
          headers: { ...key, "content-type": "application/json" },
          payload,
        });
        expectError(reply, 400);
      }
    });

    it("checks credentials before reading the body", async () => {
      const reply = await call(app(), {
        method: "POST",
        url: "/sagas/start",
        headers: { "content-type": "application/json" },
        payload: JSON.stringify({ saga_type: "demo_order", input: "z".repeat(5000) }),
      });
      expectError(reply, 401, "UNAUTHORIZED");
    });
  });
});

describe("API auth with anonymous access (no REQUIRE_API_KEY, no JWT configured)", () => {
  const h = useService({});
  const app = () => h.service.app;

  it("serves requests without credentials as admin of the default tenant", async () => {
    const started = await call(app(), {
      method: "POST",
      url: "/sagas/start",
      payload: { saga_type: "demo_order", input: { step_ms: 10_000 } },
    });
    expect(started.status).toBe(201);
    const id = started.body.saga_id as string;
    expect((await h.service.orchestrator.get(id, { tenantId: "default" }))?.tenantId).toBe(
      "default",
    );
    const list = await call(app(), { method: "GET", url: "/sagas/" });
    expect(list.status).toBe(200);
    expect((list.body.items as { saga_id: string }[]).map((s) => s.saga_id)).toContain(id);
    const cancelled = await call(app(), { method: "POST", url: `/sagas/${id}/cancel` });
    expect(cancelled.status).toBe(202);
    const failed = await sagaIn(h.service, "default", "failed");
    expect((await call(app(), { method: "POST", url: `/sagas/${failed}/retry` })).status).toBe(202);
  });

  it("still refuses a wrong API key or a bearer token sent anyway", async () => {
    const wrongKey = await call(app(), {
      method: "GET",
      url: "/sagas/",
      headers: { "x-api-key": "guessed-key-0123456789" },
    });
    expectError(wrongKey, 401, "INVALID_API_KEY");
    const startWithWrongKey = await call(app(), {
      method: "POST",
      url: "/sagas/start",
      headers: { "x-api-key": "guessed-key-0123456789" },
      payload: START_BODY,
    });
    expectError(startWithWrongKey, 401, "INVALID_API_KEY");
    const token = await signToken(SECRET, claims());
    expectError(
      await call(app(), { method: "GET", url: "/sagas/", headers: bearer(token) }),
      401,
      "INVALID_TOKEN",
    );
    expectError(
      await call(app(), {
        method: "GET",
        url: "/sagas/",
        headers: { authorization: "Basic dXNlcjpwYXNz" },
      }),
      401,
      "INVALID_TOKEN",
    );
  });
});
