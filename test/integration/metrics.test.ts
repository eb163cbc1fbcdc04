import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { TerminalError } from "../../src/core/errors.js";
import { defineSaga, type SagaDefinition } from "../../src/engine/definition.js";
import { Orchestrator } from "../../src/engine/orchestrator.js";
import { registerSagaMetrics } from "../../src/index.js";
import { createService, type Service } from "../../src/service.js";
import { PgliteStore } from "../../src/store/pglite-store.js";

const sagas: SagaDefinition<never, never>[] = [
  defineSaga({ name: "fine", steps: [{ name: "a", action: () => 1 }] }),
  defineSaga({
    name: "broken",
    steps: [
      { name: "a", action: () => 1, compensate: () => undefined },
      {
        name: "b",
        action: () => {
          throw new TerminalError("b broke");
        },
      },
    ],
  }),
];

async function value(registry: Registry, name: string, labels: Record<string, string>) {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  const { values } = await metric.get();
  const hit = values.find((v) =>
    Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return hit?.value;
}

describe("metrics for library users", () => {
  it("registerSagaMetrics puts the saga metrics on your registry; saga_failed_total has no reason label", async () => {
    const store = await PgliteStore.open();
    const orchestrator = await Orchestrator.create({ store, sagas, closeStore: true });
    const registry = new Registry();
    const stop = registerSagaMetrics(orchestrator, registry);
    try {
      await (await orchestrator.start("fine")).result();
      await (await orchestrator.start("broken")).result();
      expect(await value(registry, "saga_started_total", { saga_type: "fine" })).toBe(1);
      expect(await value(registry, "saga_completed_total", { saga_type: "fine" })).toBe(1);
      expect(await value(registry, "saga_failed_total", { saga_type: "broken" })).toBe(1);
      const failed = await registry.getSingleMetric("saga_failed_total")!.get();
      for (const v of failed.values) expect(Object.keys(v.labels)).toEqual(["saga_type"]);
      expect(
        await value(registry, "saga_failed_by_reason_total", {
          saga_type: "broken",
          reason: "step_failed",
        }),
      ).toBe(1);
      // No process metrics of ours on a registry of yours (you may have your own already).
      expect(registry.getSingleMetric("process_cpu_user_seconds_total")).toBeUndefined();
      const text = await registry.metrics();
      expect(text).toContain("saga_running_current");
    } finally {
      stop();
      await orchestrator.close({ graceMs: 0 });
    }
  });
});

describe("service metrics", () => {
  let service: Service;
  beforeAll(async () => {
    service = await createService(loadConfig({ SAGA_DATA_DIR: "unused" }), {
      sagas,
      logger: false,
      store: await PgliteStore.open(),
      builtinDefinitions: null,
    });
  });
  afterAll(async () => {
    await service.close();
  });

  it("HTTP RED metrics are labelled by route template, never by the raw URL", async () => {
    await (await service.orchestrator.start("broken")).result();
    const headers = { "x-api-key": "dev-key" };
    await service.app.inject({
      method: "GET",
      url: "/sagas/00000000-0000-7000-8000-000000000000",
      headers,
    });
    await service.app.inject({ method: "GET", url: "/no/such/route", headers });
    const text = (await service.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/sagas\/:id",status="\d{3}"\} 1/,
    );
    expect(text).toMatch(/http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).not.toContain("00000000-0000-7000-8000-000000000000");
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="\/sagas\/:id"/,
    );
    // Store and bus metrics of the embedded service (PGlite, in-process bus).
    expect(text).toMatch(/saga_store_commit_seconds_count/);
    expect(text).toMatch(/saga_outbox_pending \d+/);
    expect(text).toMatch(/saga_bus_dead_letters 0/);
  });
});
