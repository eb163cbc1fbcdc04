import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attemptSpanId, sagaSpanId } from "../../src/engine/trace-ids.js";
import { killAllChildren } from "./support/processes.js";
import {
  api,
  startService,
  stopService,
  waitForEnd,
  type SagaJson,
  type ServiceProcess,
} from "./support/service.js";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  links?: { traceId: string; spanId: string }[];
}
interface OtlpRequest {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

/** A loopback OTLP/HTTP receiver: POST /v1/traces with a JSON body, kept as parsed. */
class OtlpReceiver {
  readonly requests: { contentType: string; body: OtlpRequest }[] = [];
  private server: Server | null = null;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.method !== "POST" || req.url !== "/v1/traces") {
          res.statusCode = 404;
          res.end();
          return;
        }
        this.requests.push({
          contentType: req.headers["content-type"] ?? "",
          body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpRequest,
        });
        res.setHeader("content-type", "application/json");
        res.end("{}");
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  spans(): OtlpSpan[] {
    return this.requests.flatMap((r) =>
      r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)),
    );
  }

  serviceNames(): string[] {
    return this.requests.flatMap((r) =>
      r.body.resourceSpans.map(
        (rs) =>
          rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "",
      ),
    );
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

describe("tracing end to end: saga serve exports OTLP/HTTP JSON to a collector", () => {
  const receiver = new OtlpReceiver();
  const dataDir = mkdtempSync(join(tmpdir(), "saga-otlp-"));
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    await receiver.start();
    service = await startService("saga serve (tracing)", {
      SAGA_DATA_DIR: dataDir,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: "saga-e2e",
    });
  }, 180_000);
  afterAll(async () => {
    await stopService(service);
    await killAllChildren();
    await receiver.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a saga started over HTTP arrives as one trace, linked to the request, flushed on SIGTERM", async () => {
    const caller = "4bf92f3577b34da6a3ce929d0e0e4736";
    const started = await api<SagaJson>(service!, "POST", "/sagas/start", {
      body: { saga_type: "demo_order", input: { order_id: "o-1", step_ms: 5 } },
      headers: { traceparent: `00-${caller}-00f067aa0ba902b7-01` },
    });
    expect(started.status).toBe(201);
    const sagaId = started.body.saga_id;
    expect((await waitForEnd(service!, sagaId)).status).toBe("completed");
    await stopService(service); // SIGTERM: the service exports what it buffered before exiting
    expect(service!.process.stdout + service!.process.stderr).not.toMatch(/export.*fail/i);

    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const r of receiver.requests) expect(r.contentType).toMatch(/^application\/json/);
    expect(new Set(receiver.serviceNames())).toEqual(new Set(["saga-e2e"]));
    const spans = receiver.spans();
    const traceId = sagaId.replaceAll("-", "");
    const saga = spans.find((s) => s.traceId === traceId && s.name === "saga demo_order");
    expect(saga?.spanId).toBe(sagaSpanId(sagaId));
    expect(saga?.parentSpanId ?? "").toBe("");
    const steps = spans.filter((s) => s.traceId === traceId && s.name.startsWith("step "));
    expect(steps.map((s) => s.name).sort()).toEqual([
      "step charge_payment",
      "step reserve_inventory",
      "step ship_order",
    ]);
    for (const s of steps) {
      expect(s.parentSpanId).toBe(saga!.spanId);
      expect(s.spanId).toBe(attemptSpanId(sagaId, s.name.slice(5), "forward", 1));
      expect(BigInt(s.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(s.startTimeUnixNano));
    }
    const server = spans.find((s) => s.traceId === caller && s.name === "POST /sagas/start");
    expect(server?.parentSpanId).toBe("00f067aa0ba902b7");
    expect(server?.kind).toBe(2); // OTLP SPAN_KIND_SERVER
    const start = spans.find((s) => s.traceId === traceId && s.name === "start demo_order");
    expect(start?.links?.map((l) => [l.traceId, l.spanId])).toEqual([[caller, server!.spanId]]);
  }, 120_000);
});
