import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { SagaError, TerminalError, ErrorCodes } from "../../src/core/errors.js";
import type { SagaEvent } from "../../src/core/events.js";
import { defineSaga, type SagaDefinition } from "../../src/engine/definition.js";
import { Orchestrator } from "../../src/engine/orchestrator.js";
import { attemptSpanId, sagaSpanId, sagaTraceId } from "../../src/engine/trace-ids.js";
import { createService, type Service } from "../../src/service.js";
import { executeHttpStep } from "../../src/steps/http/http-step.js";
import { createSsrfGuard } from "../../src/steps/http/ssrf-guard.js";
import { PgliteStore } from "../../src/store/pglite-store.js";
import { startTracing, type Tracing } from "../../src/telemetry/tracing.js";

const CANARY = "s3cr3t-canary-7f1e9c";

/** A downstream service that records the headers of each request. */
async function downstream(): Promise<{ url: string; seen: IncomingHttpHeaders[]; server: Server }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
const at = (events: SagaEvent[], type: SagaEvent["type"], step?: string, attempt?: number) =>
  events.find(
    (e) =>
      e.type === type &&
      (step === undefined || ("step" in e && e.step === step)) &&
      (attempt === undefined || ("attempt" in e && e.attempt === attempt)),
  )!.at;

describe("tracing", () => {
  let exporter: InMemorySpanExporter;
  let tracing: Tracing;
  let peer: Awaited<ReturnType<typeof downstream>>;

  beforeAll(async () => {
    peer = await downstream();
  });
  afterAll(async () => {
    await new Promise((resolve) => peer.server.close(resolve));
  });
  afterEach(() => {
    peer.seen.length = 0;
  });
  const start = () => {
    exporter = new InMemorySpanExporter();
    tracing = startTracing({ exporter, processor: "simple" });
  };
  const spans = () => exporter.getFinishedSpans();

  /** b retries once, c fails for good: the saga compensates b and a. Secrets everywhere. */
  const sagas = (url: string) =>
    [
      defineSaga({
        name: "traced",
        retry: { initialDelayMs: 1, jitter: 0 },
        steps: [
          {
            name: "a",
            action: () => ({ token: CANARY }),
            compensate: () => undefined,
          },
          {
            name: "b",
            action: (ctx) => {
              if (ctx.attempt === 1)
                throw new SagaError(ErrorCodes.SAGA_STEP_FAILED, `flaky ${CANARY}`, {
                  retryable: true,
                });
              return executeHttpStep({ service: "peer", method: "POST", path: "/x" }, ctx, {
                serviceUrls: { peer: url },
                secrets: () => undefined,
                transport: { guard: createSsrfGuard({ serviceUrls: [url] }) },
              });
            },
            compensate: () => undefined,
          },
          {
            name: "c",
            action: () => {
              throw new TerminalError(`c broke, ${CANARY}`);
            },
          },
        ],
      }),
    ] as SagaDefinition<never, never>[];

  it("a saga is one trace: its span, a span per attempt and per compensation, exact times, no secrets", async () => {
    start();
    onTestFinished(() => tracing.shutdown());
    const store = await PgliteStore.open();
    const orchestrator = await Orchestrator.create({
      store,
      sagas: sagas(peer.url),
      closeStore: true,
    });
    orchestrator.onCommitted(tracing.listener);
    try {
      const handle = await orchestrator.start("traced", { password: CANARY });
      expect((await handle.result()).status).toBe("compensated");
      const events = await orchestrator.events(handle.sagaId);
      const traceId = sagaTraceId(handle.sagaId);
      expect(traceId).toBe(handle.sagaId.replaceAll("-", ""));
      const mine = spans().filter((s) => s.spanContext().traceId === traceId);
      const names = mine.map((s) => s.name).sort();
      expect(names).toEqual([
        "compensate a",
        "compensate b",
        "saga traced",
        "step a",
        "step b",
        "step b",
        "step c",
      ]);

      const root = mine.find((s) => s.name === "saga traced")!;
      expect(root.spanContext().spanId).toBe(sagaSpanId(handle.sagaId));
      expect(root.parentSpanContext).toBeUndefined();
      expect(ms(root.startTime)).toBe(at(events, "SagaStarted"));
      expect(ms(root.endTime)).toBe(at(events, "SagaCompensated"));
      expect(root.attributes["saga.status"]).toBe("compensated");
      expect(root.attributes["saga.reason"]).toBe("step_failed");

      for (const span of mine.filter((s) => s !== root)) {
        expect(span.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
        const phase = span.name.startsWith("step") ? "forward" : "compensation";
        const step = String(span.attributes["saga.step"]);
        const attempt = Number(span.attributes["saga.attempt"]);
        expect(span.spanContext().spanId).toBe(attemptSpanId(handle.sagaId, step, phase, attempt));
      }
      const b1 = mine.find((s) => s.name === "step b" && s.attributes["saga.attempt"] === 1)!;
      expect(ms(b1.startTime)).toBe(at(events, "StepStarted", "b", 1));
      expect(ms(b1.endTime)).toBe(at(events, "StepFailed", "b", 1));
      expect(b1.status.code).toBe(2); // ERROR
      expect(b1.attributes["error.type"]).toBe(ErrorCodes.SAGA_STEP_FAILED);
      const compA = mine.find((s) => s.name === "compensate a")!;
      expect(ms(compA.startTime)).toBe(at(events, "StepCompensationStarted", "a", 1));
      expect(ms(compA.endTime)).toBe(at(events, "StepCompensated", "a", 1));

      // The http step's traceparent names the attempt span exported for it.
      expect(peer.seen).toHaveLength(1);
      const b2 = mine.find((s) => s.name === "step b" && s.attributes["saga.attempt"] === 2)!;
      expect(peer.seen[0]!.traceparent).toBe(`00-${traceId}-${b2.spanContext().spanId}-01`);

      // Nothing of the input, results or error messages is exported.
      expect(JSON.stringify(mine.map(dump))).not.toContain(CANARY);
      expect(JSON.stringify(spans().map(dump))).not.toContain("canary");
    } finally {
      await orchestrator.close({ graceMs: 0 });
    }
  });

  it("off: no traceparent leaves for downstream services", async () => {
    const store = await PgliteStore.open();
    const orchestrator = await Orchestrator.create({
      store,
      sagas: sagas(peer.url),
      closeStore: true,
    });
    try {
      await (await orchestrator.start("traced", {})).result();
      expect(peer.seen).toHaveLength(1);
      expect(peer.seen[0]!.traceparent).toBeUndefined();
    } finally {
      await orchestrator.close({ graceMs: 0 });
    }
  });

  describe("through the service", () => {
    let service: Service;
    const producer = defineSaga({
      name: "producer",
      steps: [
        {
          name: "announce",
          action: (ctx) => ctx.emit([{ type: "order.placed", data: { secret: CANARY } }]),
        },
      ],
    });
    const consumer = defineSaga({
      name: "consumer",
      triggers: [{ event: "order.placed", input: () => ({}) }],
      steps: [{ name: "ship", action: () => null }],
    });

    beforeAll(async () => {
      start();
      service = await createService(loadConfig({}), {
        sagas: [producer, consumer] as SagaDefinition<never, never>[],
        logger: false,
        builtinDefinitions: null,
        tracing,
      });
    });
    afterAll(async () => {
      await service.close();
      await tracing.shutdown();
    });

    it("HTTP server spans continue the caller's trace; the started saga links to the request", async () => {
      const caller = "0af7651916cd43dd8448eb211c80319c";
      const res = await service.app.inject({
        method: "POST",
        url: "/sagas/start",
        headers: { traceparent: `00-${caller}-b7ad6b7169203331-01` },
        payload: { saga_type: "consumer", input: {} },
      });
      expect(res.statusCode).toBe(201);
      const sagaId = res.json<{ saga_id: string }>().saga_id;
      await service.orchestrator.handle(sagaId).result();
      await tracing.flush();
      const server = spans().find(
        (s) => s.name === "POST /sagas/start" && s.spanContext().traceId === caller,
      )!;
      expect(server.kind).toBe(1); // SERVER
      expect(server.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
      expect(server.attributes["http.route"]).toBe("/sagas/start");
      expect(server.attributes["http.response.status_code"]).toBe(201);
      const started = spans().find(
        (s) => s.name === "start consumer" && s.spanContext().traceId === sagaTraceId(sagaId),
      )!;
      expect(started.links.map((l) => l.context.spanId)).toEqual([server.spanContext().spanId]);
      expect(started.links[0]!.context.traceId).toBe(caller);
      expect(started.parentSpanContext?.spanId).toBe(sagaSpanId(sagaId));
    });

    it("an event published over HTTP carries the request's context to the saga it triggers", async () => {
      const caller = "5bf92f3577b34da6a3ce929d0e0e4737";
      const res = await service.app.inject({
        method: "POST",
        url: "/events/publish",
        headers: { traceparent: `00-${caller}-a7ad6b7169203332-01` },
        payload: { stream_id: "order-9", type: "order.placed", data: {} },
      });
      expect(res.statusCode).toBe(201);
      await tracing.flush();
      const server = spans().find(
        (s) => s.name === "POST /events/publish" && s.spanContext().traceId === caller,
      )!;
      let linked: ReadableSpan | undefined;
      for (let i = 0; i < 200 && !linked; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        linked = spans().find(
          (s) =>
            s.name === "start consumer" &&
            s.links[0]?.context.spanId === server.spanContext().spanId,
        );
      }
      expect(
        linked,
        "the triggered saga's start span links to the publishing request",
      ).toBeDefined();
      expect(linked!.links[0]!.context.traceId).toBe(caller);
    });

    it("bus messages carry the producing attempt's context; the triggered saga links to it", async () => {
      const handle = await service.orchestrator.start("producer", {});
      await handle.result();
      const producerTrace = sagaTraceId(handle.sagaId);
      const announce = attemptSpanId(handle.sagaId, "announce", "forward", 1);
      let linked: ReadableSpan | undefined;
      for (let i = 0; i < 200 && !linked; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        linked = spans().find(
          (s) => s.name === "start consumer" && s.links[0]?.context.spanId === announce,
        );
      }
      expect(
        linked,
        "the triggered saga's start span links to the producer's attempt",
      ).toBeDefined();
      expect(linked!.links[0]!.context.traceId).toBe(producerTrace);
      expect(linked!.spanContext().traceId).not.toBe(producerTrace);
      expect(spans().some((s) => s.spanContext().spanId === announce)).toBe(true);
      expect(JSON.stringify(spans().map(dump))).not.toContain(CANARY);
    });
  });
});

/** Everything a span exports, as JSON-able data. */
function dump(span: ReadableSpan) {
  return {
    name: span.name,
    attributes: span.attributes,
    status: span.status,
    events: span.events,
    links: span.links,
    resource: span.resource.attributes,
  };
}
