import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisStreamsBus } from "../../src/bus/redis-streams-bus.js";
import { loadConfig } from "../../src/config/config.js";
import { TerminalError } from "../../src/core/errors.js";
import { defineSaga, type SagaDefinition } from "../../src/engine/definition.js";
import { createService, type Service } from "../../src/service.js";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { PrometheusProcess } from "../helpers/prometheus.js";
import { TEST_REDIS_URL, deleteKeys, rawRedis, uniqueKeyPrefix } from "../helpers/redis.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";
import { freshSchema } from "../helpers/stores.js";
import { sleep } from "../helpers/time.js";

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[];
}
const dashboard = JSON.parse(
  readFileSync(
    new URL("../../deploy/grafana/dashboards/saga-dashboard.json", import.meta.url),
    "utf8",
  ),
) as { title: string; uid: string; schemaVersion: number; panels: Panel[] };
const queries = dashboard.panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })),
);

const key = "observe-key-0123456789";
const sagas: SagaDefinition<never, never>[] = [
  defineSaga({
    name: "obs_ok",
    steps: [{ name: "work", action: async () => new Promise((r) => setTimeout(() => r(1), 5)) }],
  }),
  defineSaga({
    name: "obs_broken",
    steps: [
      { name: "reserve", action: () => 1, compensate: () => undefined },
      {
        name: "charge",
        action: () => {
          throw new TerminalError("card declined");
        },
      },
    ],
  }),
  defineSaga({
    name: "obs_stuck",
    steps: [
      {
        name: "reserve",
        action: () => 1,
        compensationRetry: { maxAttempts: 1 },
        compensate: () => {
          throw new TerminalError("undo service gone");
        },
      },
      {
        name: "charge",
        action: () => {
          throw new TerminalError("card declined");
        },
      },
    ],
  }),
  defineSaga({
    name: "obs_waits",
    steps: [
      {
        name: "await_go",
        action: (ctx) =>
          ctx.waitForEvent("obs.go", {
            path: "data.id",
            equals: (ctx.input as { id: string }).id,
          }),
      },
    ],
  }),
];

describe("the Grafana dashboard's queries on a real Prometheus", () => {
  const schema = freshSchema();
  const prefix = uniqueKeyPrefix();
  let service: Service;
  let bus: RedisStreamsBus;
  let prometheus: PrometheusProcess | null = null;
  let base = "";

  beforeAll(async () => {
    bus = new RedisStreamsBus({ url: TEST_REDIS_URL, keyPrefix: prefix });
    service = await createService(
      loadConfig({ SAGA_DATA_DIR: "unused", API_KEY: key, REQUIRE_API_KEY: "true" }),
      {
        sagas,
        logger: false,
        store: new PostgresStore({ connectionString: TEST_DATABASE_URL, schema }),
        bus,
        builtinDefinitions: null,
      },
    );
    await service.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = service.app.server.address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    prometheus = await PrometheusProcess.start([`127.0.0.1:${port}`]);
  });
  afterAll(async () => {
    await prometheus?.stop();
    await service?.close();
    await bus?.close();
    const redis = rawRedis();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it("is a Grafana dashboard: unique panel ids, grid positions, a Prometheus datasource per query", () => {
    expect(dashboard.title).toBe("Saga Pattern Monitoring");
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.w).toBeGreaterThan(0);
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
      if (panel.type === "row") continue;
      expect(panel.datasource?.type).toBe("prometheus");
      expect(panel.targets?.length).toBeGreaterThan(0);
    }
    expect(queries.length).toBeGreaterThanOrEqual(30);
  });

  it("every panel's query returns data while the service runs a small load", async () => {
    const p = prometheus!;
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${base}${path}`, {
        method,
        headers: {
          "x-api-key": key,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      });
    let round = 0;
    let stopLoad = false;
    const load = (async () => {
      while (!stopLoad) {
        round++;
        const starts = [
          call("POST", "/sagas/start", { saga_type: "obs_ok" }),
          call("POST", "/sagas/start", { saga_type: "obs_ok" }),
          call("POST", "/sagas/start", { saga_type: "obs_broken" }),
          call("POST", "/sagas/start", { saga_type: "obs_waits", input: { id: `w${round}` } }),
          call("GET", "/sagas/00000000-0000-7000-8000-000000000000"),
          call("GET", "/sagas?limit=5"),
        ];
        if (round % 5 === 1) starts.push(call("POST", "/sagas/start", { saga_type: "obs_stuck" }));
        await Promise.all(starts);
        // Every other waiting saga gets its event (bus -> intake -> the step resumes).
        if (round % 2 === 0)
          await bus.publish([
            {
              id: `go-${prefix}-${round}`,
              type: "obs.go",
              tenantId: "default",
              key: `w${round - 1}`,
              data: { id: `w${round - 1}` },
              occurredAt: Date.now(),
            },
          ]);
        await sleep(250);
      }
    })();

    const missing = new Map<string, string>();
    try {
      // Scrapes every second; rate() over a window needs two samples of each series. The bound
      // is generous for a loaded 2-core machine; the loop ends as soon as every query has data.
      const deadline = Date.now() + 120_000;
      let pending = queries;
      while (pending.length > 0 && Date.now() < deadline) {
        await sleep(2_000);
        const next: typeof queries = [];
        for (const q of pending) {
          const result = await p.query(q.expr);
          const values = result.data?.result.map((s) => Number(s.value[1])) ?? [];
          if (result.status !== "success") {
            missing.set(q.expr, `error: ${result.error}`);
            next.push(q);
          } else if (!values.some((v) => Number.isFinite(v))) {
            missing.set(q.expr, values.length === 0 ? "no series" : "only NaN/Inf values");
            next.push(q);
          } else missing.delete(q.expr);
        }
        pending = next;
      }
    } finally {
      stopLoad = true;
      await load;
    }
    const targets = await p.targets();
    expect(
      targets.map((t) => t.health),
      JSON.stringify(targets),
    ).toEqual(["up"]);
    expect(
      [...missing].map(([expr, why]) => `${why}: ${expr}`),
      "dashboard queries without data",
    ).toEqual([]);
  }, 200_000);
});
