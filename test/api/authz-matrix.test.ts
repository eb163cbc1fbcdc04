import { beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../../src/service.js";
import { ALIASES } from "../../src/api/routes/seed-aliases.js";
import { call, type Reply } from "./support/http.js";
import { useService } from "./support/service.js";
import {
  RANK,
  ROLES,
  apiKeysOf,
  definitionOf,
  sagaOf,
  seedTenant,
  testTenant,
  type Role,
  type TenantData,
  type TestTenant,
} from "./support/tenants.js";

/**
 * The authorization matrix, generated from the OpenAPI document: every route × {anonymous,
 * viewer, operator, admin} × {own tenant, other tenant}. Each route needs a rule below; a route
 * without one (a new route) fails the test, and so does a rule for a route that is gone.
 */
type Access = "public" | Role;
/**
 * What "the other tenant" means for the route: `object` (the path names the other tenant's
 * object: 404), `collection` (a listing: 2xx without a trace of the other tenant), `create` (it
 * makes something: in the caller's tenant only), `none` (nothing tenant-scoped: health, schema).
 */
type Scope = "object" | "collection" | "create" | "none";

interface Target {
  tenant: TestTenant;
  data: TenantData;
}
interface Built {
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
}
interface Rule {
  access: Access;
  scope: Scope;
  ok: number;
  /** The request for a caller of tenant `own` aimed at `target` (own or other). */
  build: (service: Service, target: Target, own: Target) => Promise<Built> | Built;
  /**
   * The answer lists the caller's own earlier requests (the audit trail): ids of tenant B that
   * the caller itself sent in an earlier case may appear there; only B's marker may not.
   */
  echoesCaller?: boolean;
  /** For a refused write on the other tenant: what must still hold afterwards. */
  unchanged?: (service: Service, target: Target, built: Built) => Promise<void>;
}

const SHARED_DEFINITION = "shared_def";
let counter = 0;
const fresh = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;

const RULES: Record<string, Rule> = {
  "GET /health/live": {
    access: "public",
    scope: "none",
    ok: 200,
    build: () => ({ url: "/health/live" }),
  },
  "GET /health/ready": {
    access: "public",
    scope: "none",
    ok: 200,
    build: () => ({ url: "/health/ready" }),
  },
  "GET /health": { access: "public", scope: "none", ok: 200, build: () => ({ url: "/health" }) },
  "GET /metrics": { access: "public", scope: "none", ok: 200, build: () => ({ url: "/metrics" }) },
  "GET /schemas/saga-definition.json": {
    access: "public",
    scope: "none",
    ok: 200,
    build: () => ({ url: "/schemas/saga-definition.json" }),
  },
  "POST /sagas/start": {
    access: "operator",
    scope: "create",
    ok: 201,
    build: () => ({
      url: "/sagas/start",
      payload: { saga_type: "demo_order", input: { step_ms: 0 } },
    }),
  },
  "GET /sagas/": {
    access: "viewer",
    scope: "collection",
    ok: 200,
    build: () => ({ url: "/sagas/?limit=1000" }),
  },
  "GET /sagas/types/available": {
    access: "viewer",
    scope: "collection",
    ok: 200,
    build: () => ({ url: "/sagas/types/available" }),
  },
  "GET /sagas/{id}": {
    access: "viewer",
    scope: "object",
    ok: 200,
    build: (_s, t) => ({ url: `/sagas/${t.data.sagaIds[0]}` }),
  },
  "GET /sagas/{id}/steps": {
    access: "viewer",
    scope: "object",
    ok: 200,
    build: (_s, t) => ({ url: `/sagas/${t.data.sagaIds[0]}/steps` }),
  },
  "GET /sagas/{id}/events": {
    access: "viewer",
    scope: "object",
    ok: 200,
    build: (_s, t) => ({ url: `/sagas/${t.data.sagaIds[0]}/events` }),
  },
  "GET /sagas/{id}/stream": {
    access: "viewer",
    scope: "object",
    ok: 200,
    build: (_s, t) => ({ url: `/sagas/${t.data.sagaIds[0]}/stream` }),
  },
  "POST /sagas/{id}/cancel": {
    access: "operator",
    scope: "object",
    ok: 202,
    build: async (s, t) => ({ url: `/sagas/${await sagaOf(s, t.tenant, "running")}/cancel` }),
    unchanged: async (s, t, built) => {
      const id = built.url.split("/")[2]!;
      const state = await s.orchestrator.get(id, { tenantId: t.tenant.id });
      expect(state?.status).toBe("running");
      expect(state?.reason).toBeNull();
    },
  },
  "POST /sagas/{id}/retry": {
    access: "operator",
    scope: "object",
    ok: 202,
    build: async (s, t) => ({ url: `/sagas/${await sagaOf(s, t.tenant, "failed")}/retry` }),
    unchanged: async (s, t, built) => {
      const id = built.url.split("/")[2]!;
      const events = await s.orchestrator.events(id, { tenantId: t.tenant.id });
      expect(events.map((e) => e.type)).not.toContain("SagaRetried");
    },
  },
  "POST /definitions": {
    access: "admin",
    scope: "create",
    ok: 201,
    // A name the other tenant has registered: registering it makes the caller's own definition.
    build: (_s, t, own) => ({
      url: "/definitions",
      payload: definitionOf(own.tenant, t === own ? `def_${fresh()}` : SHARED_DEFINITION),
    }),
  },
  "GET /definitions": {
    access: "viewer",
    scope: "collection",
    ok: 200,
    build: () => ({ url: "/definitions" }),
  },
  "GET /definitions/{name}/versions": {
    access: "viewer",
    scope: "object",
    ok: 200,
    build: (_s, t) => ({ url: `/definitions/${t.data.definitionName}/versions` }),
  },
  "POST /events/publish": {
    access: "operator",
    scope: "create",
    ok: 201,
    // A stream name the other tenant has too: the event goes to the caller's stream.
    build: (_s, _t, own) => ({
      url: "/events/publish",
      payload: {
        stream_id: own.data.sharedStream,
        type: `${own.tenant.marker}.published`,
        data: {},
      },
    }),
  },
  "GET /events/stream/{stream_id}": {
    access: "viewer",
    scope: "object",
    ok: 200,
    build: (_s, t) => ({ url: `/events/stream/${t.data.ownStream}` }),
  },
  "GET /events/all": {
    access: "viewer",
    scope: "collection",
    ok: 200,
    build: () => ({ url: "/events/all?limit=1000" }),
  },
  "GET /events/types": {
    access: "viewer",
    scope: "collection",
    ok: 200,
    build: () => ({ url: "/events/types" }),
  },
  "PUT /secrets/{name}": {
    access: "admin",
    scope: "create",
    ok: 201,
    build: () => ({ url: `/secrets/s_${fresh()}`, payload: { value: `value-${fresh()}` } }),
  },
  "DELETE /secrets/{name}": {
    access: "admin",
    scope: "object",
    ok: 204,
    // The target tenant's own admin writes a secret; the caller (of tenant A) deletes it by name.
    build: async (s, t) => {
      const name = `d_${fresh()}`;
      const put = await call(s.app, {
        method: "PUT",
        url: `/secrets/${name}`,
        headers: { "x-api-key": t.tenant.keys.admin },
        payload: { value: `value-${fresh()}` },
      });
      expect(put.status).toBe(201);
      return { url: `/secrets/${name}` };
    },
    unchanged: async (s, t, built) => {
      const list = await call(s.app, {
        method: "GET",
        url: "/secrets",
        headers: { "x-api-key": t.tenant.keys.admin },
      });
      const names = (list.body?.secrets as { name: string }[]).map((e) => e.name);
      expect(names).toContain(built.url.split("/")[2]);
    },
  },
  "GET /secrets": {
    access: "admin",
    scope: "collection",
    ok: 200,
    build: () => ({ url: "/secrets" }),
  },
  "GET /dead-letters": {
    access: "admin",
    scope: "collection",
    ok: 200,
    build: () => ({ url: "/dead-letters" }),
  },
  // No message is dead-lettered in this service: the rule checks roles, and that an id answers
  // 404 in any tenant (dead letters by tenant: test/integration/event-contract.test.ts).
  "GET /dead-letters/{id}": {
    access: "admin",
    scope: "object",
    ok: 404,
    build: () => ({ url: `/dead-letters/0-${counter++}` }),
  },
  "POST /dead-letters/redrive": {
    access: "admin",
    scope: "create",
    ok: 200,
    build: () => ({ url: "/dead-letters/redrive", payload: { ids: [`0-${counter++}`] } }),
  },
  "POST /dead-letters/purge": {
    access: "admin",
    scope: "create",
    ok: 200,
    build: () => ({ url: "/dead-letters/purge", payload: { ids: [`0-${counter++}`] } }),
  },
  "GET /audit": {
    access: "admin",
    scope: "collection",
    ok: 200,
    echoesCaller: true,
    build: () => ({ url: "/audit?limit=500" }),
  },
  "GET /console/session": {
    access: "viewer",
    scope: "collection",
    ok: 200,
    build: () => ({ url: "/console/session" }),
  },
  "GET /console/summary": {
    access: "viewer",
    scope: "collection",
    ok: 200,
    build: () => ({ url: "/console/summary" }),
  },
  "GET /console/overview": {
    access: "viewer",
    scope: "collection",
    ok: 200,
    build: () => ({ url: "/console/overview" }),
  },
  "POST /console/definitions/validate": {
    access: "viewer",
    scope: "collection",
    ok: 200,
    build: (_s, _t, own) => ({
      url: "/console/definitions/validate",
      payload: { text: JSON.stringify(definitionOf(own.tenant, `v_${fresh()}`)) },
    }),
  },
  "POST /events/replay/{stream_id}": {
    access: "operator",
    scope: "object",
    ok: 202,
    build: (_s, t) => ({ url: `/events/replay/${t.data.ownStream}` }),
  },
};

// The seed documents' paths are aliases of the routes above (src/api/routes/seed-aliases.ts):
// each gets its original's rule, with the request moved to the alias's path (and, for the seed's
// start body, written in the seed's shape). The OpenAPI alias gets the original's public rule.
RULES["GET /api/schema/"] = {
  access: "public",
  scope: "none",
  ok: 200,
  build: () => ({ url: "/api/schema/" }),
};
const openApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}");
for (const alias of ALIASES) {
  const original = RULES[`${alias.method} ${openApiPath(alias.of)}`];
  if (!original) continue; // the alias of a route without a rule: reported as missing
  RULES[`${alias.method} ${openApiPath(alias.path)}`] = {
    ...original,
    build: async (service, target, own) => {
      const built = await original.build(service, target, own);
      const [path, query] = built.url.split("?") as [string, string | undefined];
      const names: string[] = [];
      const pattern = new RegExp(
        `^${alias.of.replace(/:(\w+)/g, (_m, name: string) => (names.push(name), "([^/]+)"))}$`,
      );
      const match = pattern.exec(path);
      if (!match) throw new Error(`${built.url} is not a path of ${alias.of}`);
      const url = alias.path.replace(
        /:(\w+)/g,
        (_m, name: string) => match[names.indexOf(name) + 1]!,
      );
      let payload = built.payload;
      if (alias.of === "/definitions" && alias.method === "POST")
        payload = definitionOf(own.tenant, `def_${fresh()}`); // the original's names are taken
      if (alias.body) {
        const start = payload as { saga_type: string; input?: unknown };
        payload = { saga_name: start.saga_type, context: start.input ?? null };
      }
      return { ...built, url: query === undefined ? url : `${url}?${query}`, payload };
    },
  };
}

type Caller = "anonymous" | Role;
const CALLERS: readonly Caller[] = ["anonymous", ...ROLES];

describe("authorization matrix from the OpenAPI document (PostgreSQL)", () => {
  const A = testTenant("a");
  const B = testTenant("b");
  const h = useService({ API_KEYS: apiKeysOf(A, B) }, { store: "postgres" });
  let routes: { key: string; method: string }[] = [];
  let own: Target;
  let other: Target;

  beforeAll(async () => {
    const doc = (await h.service.app.inject({ method: "GET", url: "/openapi.json" })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => ["get", "post", "put", "patch", "delete"].includes(m))
        .map((m) => ({ key: `${m.toUpperCase()} ${path}`, method: m.toUpperCase() })),
    );
    own = { tenant: A, data: await seedTenant(h.service, A) };
    other = { tenant: B, data: await seedTenant(h.service, B) };
    // Both have definitions, so that reading B's by name is a real cross-tenant attempt; B also
    // has one under the name A registers in the "other tenant" case of POST /definitions.
    for (const [t, doc] of [
      [A, definitionOf(A)],
      [B, definitionOf(B)],
      [B, definitionOf(B, SHARED_DEFINITION)],
    ] as const) {
      const reply = await call(h.service.app, {
        method: "POST",
        url: "/definitions",
        headers: { "x-api-key": t.keys.admin },
        payload: doc,
      });
      expect(reply.status).toBe(201);
    }
  });

  it("has a rule for every route of the OpenAPI document, and no rule for a route that is gone", () => {
    expect(routes.length).toBeGreaterThan(15);
    const missing = routes.filter((r) => !(r.key in RULES)).map((r) => r.key);
    expect(missing, "routes without a rule in the authorization matrix").toEqual([]);
    const stale = Object.keys(RULES).filter((k) => !routes.some((r) => r.key === k));
    expect(stale, "rules for routes that no longer exist").toEqual([]);
  });

  it("every route × {anonymous, viewer, operator, admin} × {own, other tenant} answers as its rule says", async () => {
    const failures: string[] = [];
    let cases = 0;
    const bSagaIds = async () =>
      (await h.service.orchestrator.list({ tenantId: B.id, limit: 1000 })).items.map((s) => s.id);
    for (const route of routes) {
      const rule = RULES[route.key];
      if (!rule) continue; // reported by the test above
      for (const caller of CALLERS) {
        for (const targetName of ["own", "other"] as const) {
          cases++;
          const target = targetName === "own" ? own : other;
          const built = await rule.build(h.service, target, own);
          const bBefore = await bSagaIds();
          const reply = await call(h.service.app, {
            method: route.method,
            url: built.url,
            headers: caller === "anonymous" ? {} : { "x-api-key": A.keys[caller] },
            ...(built.payload !== undefined ? { payload: built.payload as object } : {}),
          });
          const where = `${route.key} as ${caller} on the ${targetName} tenant`;
          const problem = await check(rule, caller, targetName, reply, built, target, bBefore);
          if (problem) failures.push(`${where}: ${problem}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(cases).toBe(routes.length * CALLERS.length * 2);

    async function check(
      rule: Rule,
      caller: Caller,
      targetName: "own" | "other",
      reply: Reply,
      built: Built,
      target: Target,
      bBefore: string[],
    ): Promise<string | null> {
      const got = `${reply.status} ${reply.text.slice(0, 160)}`;
      // Nothing of tenant B ever reaches a caller of tenant A (beyond what the caller sent: a
      // 404 may name the id it was asked for).
      const sent = `${built.url} ${JSON.stringify(built.payload ?? null)}`;
      const leaked = [B.marker, ...(rule.echoesCaller ? [] : bBefore)].find(
        (s) => reply.text.includes(s) && !sent.includes(s),
      );
      if (leaked && rule.scope !== "none") return `answer contains tenant B's ${leaked}`;
      if (rule.scope === "none" && reply.text.includes(B.marker))
        return "a public answer contains tenant B's marker";
      let expected: number;
      let code: string | undefined;
      if (rule.access === "public") expected = rule.ok;
      else if (caller === "anonymous") [expected, code] = [401, "UNAUTHORIZED"];
      else if (RANK[caller] < RANK[rule.access]) [expected, code] = [403, "FORBIDDEN"];
      else if (targetName === "other" && rule.scope === "object") expected = 404;
      else expected = rule.ok;
      if (reply.status !== expected) return `expected ${expected}, got ${got}`;
      if (code && reply.body?.error?.code !== code) return `expected code ${code}, got ${got}`;
      // Writes never land in tenant B.
      const bAfter = await bSagaIds();
      if (bAfter.length !== bBefore.length) return "tenant B's sagas changed";
      if (targetName === "other" && expected !== rule.ok && rule.unchanged) {
        try {
          await rule.unchanged(h.service, target, built);
        } catch (error) {
          return `tenant B's object changed: ${(error as Error).message}`;
        }
      }
      if (rule.scope === "create" && reply.status === rule.ok) {
        const id = reply.body?.saga_id as string | undefined;
        if (id && !(await h.service.orchestrator.get(id, { tenantId: A.id })))
          return "the created saga is not in the caller's tenant";
      }
      return null;
    }
  });

  it("left tenant B's stream and definition as they were", async () => {
    const store = h.service.events.events!;
    const streams = await store.readStream(B.id, other.data.sharedStream, { limit: 100 });
    expect(streams.map((e) => e.type)).toEqual([`${B.marker}.happened`]);
    const bDefs = await call(h.service.app, {
      method: "GET",
      url: "/definitions",
      headers: { "x-api-key": B.keys.viewer },
    });
    const defs = bDefs.body.definitions as { name: string; document: unknown }[];
    expect(defs.map((d) => d.name).sort()).toEqual([other.data.definitionName, SHARED_DEFINITION]);
    expect(JSON.stringify(defs)).not.toContain(A.marker);
  });
});
