import http from "node:http";
import os from "node:os";
import pg from "pg";
import { PostgresStore } from "../../src/index.js";
import type { PgAdmin } from "../lib/pgadmin.js";
import { databaseUrl } from "../lib/pgadmin.js";
import { Child } from "../lib/spawn.js";
import { distribution } from "../lib/stats.js";
import type { Dist } from "../lib/types.js";
import { describeStore, generateStore1m } from "./store1m-data.js";
import { explainShapes, type ShapePlan } from "./store1m-explain.js";
import { store1mShapes, type Shape } from "./store1m-shapes.js";

export interface Store1mShapeRecord {
  name: string;
  tenant: string;
  /** The query string of the first request (and of the EXPLAIN). */
  example: string;
  latency: Dist;
  /** Items per answer (fewest, most). */
  rows: [number, number];
  non2xx: number;
  firstError: string | null;
  /** CPU of the service's process (node: HTTP, rendering, pg client) per request. */
  serviceCpuMsPerRequest: number;
  plan: ShapePlan | null;
}

export interface Store1mRecord {
  sagas: number;
  /** The database was kept from an earlier run (BENCH_STORE1M_KEEP=1), not generated. */
  reused: boolean;
  generateSec: number | null;
  analyzeSec: number | null;
  sizes: Record<string, string>;
  counts: Record<string, number>;
  /** Indexes of saga_instances during the run. */
  indexes: string[];
  requestsPerShape: number;
  concurrency: number;
  loadBefore: string;
  loadAfter: string;
  shapes: Store1mShapeRecord[];
  error: string | null;
}

const DB = "bench_store1m";
/** Keys of the service's two tenants (viewer role, as an operator's console would read). */
const KEYS = { default: "bench-store1m-default-key", small: "bench-store1m-small-key-0" };
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ");

/**
 * store-1m: `sagas` finished sagas (10 events each) generated in SQL, then the service
 * (createService, as `saga serve` runs it) in a child process answering GET /sagas for each
 * query shape: `requests` requests, `concurrency` at a time (closed loop), after 20 unmeasured.
 */
export async function store1mScenario(
  admin: PgAdmin,
  o: { sagas: number; requests: number; concurrency: number; keep: boolean },
): Promise<Store1mRecord> {
  const record: Store1mRecord = {
    sagas: o.sagas,
    reused: false,
    generateSec: null,
    analyzeSec: null,
    sizes: {},
    counts: {},
    indexes: [],
    requestsPerShape: o.requests,
    concurrency: o.concurrency,
    loadBefore: load(),
    loadAfter: "",
    shapes: [],
    error: null,
  };
  const url = databaseUrl(DB);
  let child: Child | null = null;
  try {
    record.reused = o.keep && (await existing(admin, url)) === o.sagas;
    if (!record.reused) await admin.recreate(DB);
    const store = new PostgresStore({ connectionString: url });
    await store.migrate();
    await store.close();
    if (!record.reused) {
      console.log(`[bench] store-1m: generating ${o.sagas} sagas, ${o.sagas * 10} events…`);
      const g = await generateStore1m(url, o.sagas);
      Object.assign(record, g);
      console.log(`[bench] store-1m: generated in ${g.generateSec.toFixed(0)} s`);
    } else Object.assign(record, await withClient(url, describeStore));
    record.indexes = await withClient(url, async (c) =>
      (
        await c.query<{ d: string }>(
          "SELECT indexdef AS d FROM pg_indexes WHERE tablename = 'saga_instances' ORDER BY indexname",
        )
      ).rows.map((r) => r.d),
    );
    const madeAt = await withClient(url, async (c) => {
      const [row] = (await c.query<{ t: Date }>("SELECT max(created_at) AS t FROM saga_instances"))
        .rows;
      return row!.t.getTime();
    });
    child = new Child({
      kind: "http-service",
      databaseUrl: url,
      dataDir: null,
      env: { API_KEYS: `${KEYS.default}=default:viewer,${KEYS.small}=small:viewer` },
    });
    const ready = await child.next(120_000);
    if (ready.type !== "ready" || !ready.port) throw new Error("the service did not report a port");
    const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
    const get = (tenant: Shape["tenant"], query: string) =>
      request(agent, ready.port!, `/sagas/${query ? `?${query}` : ""}`, KEYS[tenant]);
    const shapes = store1mShapes(o.sagas, madeAt);
    const examples: { tenant: string; query: string }[] = [];
    for (const shape of shapes) {
      let cursor = "";
      if (shape.page2) {
        const first = await get(shape.tenant, shape.query(0));
        const next = (JSON.parse(first.body) as { next_cursor: string | null }).next_cursor;
        if (!next) {
          record.shapes.push({
            name: shape.name,
            tenant: shape.tenant,
            example: shape.query(0),
            latency: distribution([]),
            rows: [0, 0],
            non2xx: 0,
            firstError: "not measured: page 1 has no next_cursor (too few sagas)",
            serviceCpuMsPerRequest: NaN,
            plan: null,
          });
          continue;
        }
        cursor = `cursor=${encodeURIComponent(next)}`;
      }
      const query = (i: number) => [shape.query(i), cursor].filter(Boolean).join("&");
      examples.push({ tenant: shape.tenant, query: query(0) });
      const service = child;
      const r = await measureShape(
        o,
        (i) => get(shape.tenant, query(i)),
        async () => {
          service.proc.send("report");
          const m = await service.next(30_000);
          return m.type === "done" ? (m.info.cpuSec ?? NaN) : NaN;
        },
      );
      record.shapes.push({
        name: shape.name,
        tenant: shape.tenant,
        example: query(0),
        ...r,
        plan: null,
      });
      console.log(
        `[bench] store-1m: ${shape.name}: p50 ${r.latency.p50.toFixed(1)} ms, p99 ${r.latency.p99.toFixed(1)} ms, rows ${r.rows.join("–")}${r.non2xx ? `, non-2xx ${r.non2xx}` : ""}`,
      );
    }
    agent.destroy();
    record.loadAfter = load();
    const measured = record.shapes.filter((x) => x.latency.n > 0);
    const plans = await explainShapes(url, examples);
    plans.forEach((p, i) => (measured[i]!.plan = p));
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
    console.log(`[bench] store-1m: ERROR ${record.error.split("\n")[0]}`);
  } finally {
    if (child?.proc.connected) child.proc.send("stop");
    await child?.stop(20_000);
    if (!o.keep) await admin.drop(DB).catch(() => undefined);
  }
  record.loadAfter ||= load();
  return record;
}

/** The shape's requests; `serviceCpuSec` reads the service's CPU seconds so far. */
async function measureShape(
  o: { requests: number; concurrency: number },
  send: (i: number) => Promise<{ status: number; body: string }>,
  serviceCpuSec: () => Promise<number>,
): Promise<Omit<Store1mShapeRecord, "name" | "tenant" | "example" | "plan">> {
  const latencies: number[] = [];
  let rows: [number, number] = [Infinity, -Infinity];
  let non2xx = 0;
  let firstError: string | null = null;
  let next = 0;
  const warmup = 20;
  const worker = async () => {
    for (let i = next++; i < warmup + o.requests; i = next++) {
      const t0 = performance.now();
      const r = await send(i);
      const took = performance.now() - t0;
      if (i < warmup) continue;
      latencies.push(took);
      if (r.status >= 300) {
        non2xx++;
        firstError ??= `${r.status} ${r.body.slice(0, 200)}`;
        continue;
      }
      const n = (JSON.parse(r.body) as { items: unknown[] }).items.length;
      rows = [Math.min(rows[0], n), Math.max(rows[1], n)];
    }
  };
  const cpuBefore = await serviceCpuSec();
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const cpuMs = ((await serviceCpuSec()) - cpuBefore) * 1000;
  return {
    latency: distribution(latencies),
    rows,
    non2xx,
    firstError,
    serviceCpuMsPerRequest: cpuMs / (warmup + o.requests),
  };
}

function request(
  agent: http.Agent,
  port: number,
  path: string,
  key: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: "127.0.0.1", port, path, agent, headers: { "x-api-key": key } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
  });
}

/** Sagas in a kept database, or null when there is none. */
async function existing(admin: PgAdmin, url: string): Promise<number | null> {
  const [db] = await admin.query<{ n: number }>(
    "SELECT 1 AS n FROM pg_database WHERE datname = $1",
    [DB],
  );
  if (!db) return null;
  return withClient(url, async (c) => {
    const rows = await c
      .query<{ n: number }>("SELECT count(*)::int AS n FROM saga_instances")
      .catch(() => null);
    return rows?.rows[0]?.n ?? null;
  });
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
