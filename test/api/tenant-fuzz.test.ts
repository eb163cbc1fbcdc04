import { randomInt, randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { call } from "./support/http.js";
import { useService } from "./support/service.js";
import {
  ROLES,
  SHARED_STREAM,
  apiKeysOf,
  definitionOf,
  sagaOf,
  seedTenant,
  testTenant,
  type Role,
} from "./support/tenants.js";

/**
 * Cross-tenant fuzz: seeded random requests by two tenants, each aimed as often at the other's
 * objects (saga ids, stream names, definition names, idempotency keys) as at its own. Asserts
 * that nothing of one tenant is ever read or written by the other. FUZZ_REQUESTS sets the count
 * (npm test: 1,000; `npm run fuzz:tenants`: 10,000), FUZZ_SEED replays a run.
 */
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1000);
const SEED = Number(process.env.FUZZ_SEED ?? randomInt(2 ** 31));

/** mulberry32: a small seeded generator, so that a seed replays the same requests. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick };
}

interface Planned {
  method: "GET" | "POST";
  url: string;
  payload?: object;
  headers: Record<string, string>;
  /** The other tenant's saga ids this request names (a 2xx on one would be a breach). */
  namesOther: boolean;
  kind: string;
}

describe(`cross-tenant fuzz: ${REQUESTS} seeded requests (PGlite)`, () => {
  const A = testTenant("fa");
  const B = testTenant("fb");
  const tenants = [A, B] as const;
  const h = useService(
    { API_KEYS: apiKeysOf(A, B), SAGA_QUOTA_STARTS_PER_SECOND: "100000" },
    { store: "pglite-memory" },
  );
  const sagas = new Map<string, string[]>(); // tenant id -> its saga ids
  const owner = new Map<string, string>(); // saga id -> tenant id
  const idemKeys = ["order-1", "order-2", "shared-key"];
  const defNames = ["shared_def", "def_x"];

  beforeAll(async () => {
    for (const t of tenants) {
      const data = await seedTenant(h.service, t);
      const ids = [...data.sagaIds];
      for (const kind of ["running", "running", "running", "failed", "failed"] as const)
        ids.push(await sagaOf(h.service, t, kind));
      sagas.set(t.id, ids);
      for (const id of ids) owner.set(id, t.id);
      const def = await call(h.service.app, {
        method: "POST",
        url: "/definitions",
        headers: { "x-api-key": t.keys.admin },
        payload: definitionOf(t, "shared_def"),
      });
      expect(def.status).toBe(201);
    }
  }, 240_000);

  const plan = (r: ReturnType<typeof rng>, n: number): Planned => {
    const me = r.pick(tenants);
    const other = me === A ? B : A;
    const role: Role = r.pick(ROLES);
    const headers = { "x-api-key": me.keys[role], "x-correlation-id": `${me.id}-${n}` };
    const anyId = () => {
      const from = r.int(5);
      if (from === 4) return randomUUID();
      return r.pick(sagas.get(from < 2 ? me.id : other.id)!);
    };
    const stream = () => r.pick([SHARED_STREAM, `only-${me.id}`, `only-${other.id}`]);
    const named = (url: string, id: string): Planned => ({
      method: "GET",
      url,
      headers,
      namesOther: owner.get(id) === other.id,
      kind: url.split("/").slice(0, 2).join("/"),
    });
    switch (r.int(16)) {
      case 0:
      case 1: {
        const id = anyId();
        return named(`/sagas/${id}${r.pick(["", "/steps", "/events"])}`, id);
      }
      case 2: {
        const id = anyId();
        return { ...named(`/sagas/${id}/${r.pick(["cancel", "retry"])}`, id), method: "POST" };
      }
      case 3: {
        const id = sagas.get(r.pick(tenants).id)![0]!; // completed: the stream ends
        return named(`/sagas/${id}/stream`, id);
      }
      case 4:
        return {
          method: "GET",
          url: r.pick([
            "/sagas/?limit=1000",
            `/sagas/?orderId=${other.marker}`,
            "/sagas/?status=running,failed",
            "/sagas/?saga_type=demo_order",
            "/sagas/types/available",
          ]),
          headers,
          namesOther: false,
          kind: "list",
        };
      case 5:
      case 6: {
        const key = r.next() < 0.7 ? r.pick(idemKeys) : undefined;
        return {
          method: "POST",
          url: "/sagas/start",
          headers: key ? { ...headers, "idempotency-key": key } : headers,
          payload: {
            saga_type: r.pick(["demo_order", "demo_order", "stuck_order", "shared_def"]),
            input: { order_id: me.marker, step_ms: 0 },
          },
          namesOther: false,
          kind: "start",
        };
      }
      case 7:
      case 8:
        return {
          method: "POST",
          url: "/events/publish",
          headers,
          payload: {
            stream_id: stream(),
            type: `${me.marker}.fuzzed`,
            data: { marker: me.marker, n },
            ...(r.next() < 0.3 ? { expected_version: r.int(4) } : {}),
          },
          namesOther: false,
          kind: "publish",
        };
      case 9:
        return {
          method: "GET",
          url: `/events/stream/${stream()}?limit=1000`,
          headers,
          namesOther: false,
          kind: "read-stream",
        };
      case 10:
        return {
          method: "GET",
          url: r.pick([`/events/all?limit=1000&after=${r.int(50)}`, "/events/types"]),
          headers,
          namesOther: false,
          kind: "read-all",
        };
      case 11:
        return {
          method: "POST",
          url: `/events/replay/${stream()}`,
          headers,
          namesOther: false,
          kind: "replay",
        };
      case 12:
        return {
          method: "GET",
          url: r.pick(["/definitions", `/definitions/${r.pick(defNames)}/versions`]),
          headers,
          namesOther: false,
          kind: "definitions",
        };
      case 13:
        return {
          method: "POST",
          url: "/definitions",
          headers,
          payload: definitionOf(me, r.pick(defNames), 1 + r.int(3)),
          namesOther: false,
          kind: "define",
        };
      default: {
        // Garbage aimed at the other tenant: ids in odd places, bad JSON types.
        const id = r.pick(sagas.get(other.id)!);
        return {
          method: r.pick(["GET", "POST"] as const),
          url: r.pick([`/sagas/${id.toUpperCase()}`, `/sagas/${id}%00`, `/sagas/${id}/../${id}`]),
          headers,
          namesOther: true,
          kind: "garbage",
        };
      }
    }
  };

  it(
    "no request reads or writes the other tenant's data",
    async () => {
      console.log(
        `tenant fuzz: FUZZ_SEED=${SEED} FUZZ_REQUESTS=${REQUESTS} (replay with these variables)`,
      );
      const r = rng(SEED);
      const breaches: string[] = [];
      const cancelled = new Map<string, string>(); // saga id -> tenant whose request cancelled it
      const statuses = new Map<string, number>();
      const CONCURRENCY = 4;
      for (let n = 0; n < REQUESTS; n += CONCURRENCY) {
        const batch = Array.from({ length: Math.min(CONCURRENCY, REQUESTS - n) }, (_, i) =>
          plan(r, n + i),
        );
        await Promise.all(
          batch.map(async (p) => {
            const me = p.headers["x-api-key"]!.startsWith("fa-") ? A : B;
            const other = me === A ? B : A;
            const reply = await call(h.service.app, {
              method: p.method,
              url: p.url,
              headers: p.headers,
              ...(p.payload ? { payload: p.payload } : {}),
            });
            const bucket = `${p.kind} ${reply.status}`;
            statuses.set(bucket, (statuses.get(bucket) ?? 0) + 1);
            const what = `${p.method} ${p.url} as ${me.id} -> ${reply.status}`;
            if (reply.status >= 500) breaches.push(`${what}: server error ${reply.text}`);
            if (p.namesOther && reply.status < 300)
              breaches.push(`${what}: the other tenant's saga answered`);
            const sent = `${p.url} ${JSON.stringify(p.payload ?? null)}`;
            const secrets = [other.marker, ...sagas.get(other.id)!].filter(
              (s) => !sent.includes(s),
            );
            const leaked = secrets.find((s) => reply.text.includes(s));
            if (leaked) {
              const at = reply.text.indexOf(leaked);
              const around = reply.text.slice(Math.max(0, at - 300), at + 60);
              breaches.push(`${what}: answer contains the other tenant's ${leaked}: …${around}`);
            }
            if (/\/cancel$/.test(p.url) && reply.status === 202)
              cancelled.set(p.url.split("/")[2]!, me.id);
          }),
        );
      }
      expect(breaches).toEqual([]);

      // After the run: each tenant's stored data is its own.
      for (const t of tenants) {
        const other = t === A ? B : A;
        const items = [];
        for (let cursor: string | undefined; ;) {
          const page = await h.service.orchestrator.list({
            tenantId: t.id,
            limit: 1000,
            ...(cursor ? { cursor } : {}),
          });
          items.push(...page.items);
          if (!page.next) break;
          cursor = page.next;
        }
        for (const s of items) {
          const input = JSON.stringify(s.input);
          if (input.includes(other.marker))
            breaches.push(`saga ${s.id} of ${t.id} has the other's input`);
          if (
            s.correlationId !== null &&
            !s.correlationId.startsWith(t.id) &&
            s.correlationId.includes("-")
          )
            breaches.push(`saga ${s.id} of ${t.id} was started by ${s.correlationId}`);
          if (s.reason === "cancelled" && cancelled.has(s.id) && cancelled.get(s.id) !== t.id)
            breaches.push(`saga ${s.id} of ${t.id} was cancelled by the other tenant`);
        }
        const events = [];
        for (let after = 0; ;) {
          const page = await h.service.events.events!.readAll(t.id, after, 10_000);
          events.push(...page);
          if (page.length < 10_000) break;
          after = page[page.length - 1]!.globalPosition;
        }
        for (const e of events) {
          if (JSON.stringify(e).includes(other.marker))
            breaches.push(`event ${e.eventId} of ${t.id} carries the other's marker`);
        }
        const defs = await call(h.service.app, {
          method: "GET",
          url: "/definitions",
          headers: { "x-api-key": t.keys.viewer },
        });
        if (defs.text.includes(other.marker))
          breaches.push(`definitions of ${t.id} carry the other's marker`);
      }
      expect(breaches).toEqual([]);
      // The run exercised both outcomes: requests that worked and cross-tenant ones refused.
      const ok = [...statuses].filter(([k]) => / 2\d\d$/.test(k)).reduce((a, [, v]) => a + v, 0);
      const notFound = [...statuses]
        .filter(([k]) => / 404$/.test(k))
        .reduce((a, [, v]) => a + v, 0);
      expect(ok).toBeGreaterThan(REQUESTS / 5);
      expect(notFound).toBeGreaterThan(REQUESTS / 20);
    },
    Math.max(300_000, REQUESTS * 200),
  );
});
