import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  propagation,
  trace,
  type Link,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import type { SagaEvent } from "../core/events.js";
import type { SagaState } from "../core/state.js";
import type { CommitListener } from "../engine/observer.js";
import { SagaSpans } from "./saga-spans.js";
import { FixedIdGenerator } from "./fixed-ids.js";

/** What `startTracing` needs. */
export interface TracingOptions {
  /** `service.name` of every span. Default "saga-orchestrator". */
  serviceName?: string;
  /** `service.version`. */
  serviceVersion?: string;
  /** The OTLP/HTTP traces URL (JSON encoding), e.g. `http://collector:4318/v1/traces`. */
  tracesUrl?: string;
  /** An exporter of your own instead (tests: `InMemorySpanExporter`). */
  exporter?: SpanExporter;
  /** `simple` exports each span as it ends (tests); `batch` (default) in the background. */
  processor?: "batch" | "simple";
}

/** Tracing of one process: its tracer, the commit listener that makes saga spans, shutdown. */
export interface Tracing {
  /** For server spans (the API's hook). */
  readonly tracer: Tracer;
  /** Feed it the orchestrator's commits: `orchestrator.onCommitted(tracing.listener)`. */
  readonly listener: CommitListener;
  /** Exports what is buffered. */
  flush(): Promise<void>;
  /** Exports what is buffered and unregisters the global tracer provider and propagator. */
  shutdown(): Promise<void>;
}

/** Longest attribute value (characters) the SDK keeps; ours are cut shorter (saga-spans.ts). */
const ATTRIBUTE_VALUE_LIMIT = 1024;

/**
 * Starts OpenTelemetry tracing in this process: a tracer provider exporting OTLP/HTTP (JSON) to
 * `tracesUrl` (the exporter reads `OTEL_EXPORTER_OTLP_HEADERS`, the batch processor `OTEL_BSP_*`,
 * the provider `OTEL_TRACES_SAMPLER` for server spans), registered as the global one, with the W3C
 * trace-context propagator — which is what makes http steps send `traceparent` and outbox rows
 * carry it. Nothing of this runs unless it is called: without it, `@opentelemetry/api` is a no-op.
 *
 * @example
 * const tracing = startTracing({ tracesUrl: "http://127.0.0.1:4318/v1/traces" });
 * orchestrator.onCommitted(tracing.listener);
 * // ...
 * await tracing.shutdown();
 */
export function startTracing(options: TracingOptions = {}): Tracing {
  const ids = new FixedIdGenerator();
  const exporter =
    options.exporter ??
    new OTLPTraceExporter(options.tracesUrl !== undefined ? { url: options.tracesUrl } : {});
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      "service.name": options.serviceName ?? "saga-orchestrator",
      ...(options.serviceVersion ? { "service.version": options.serviceVersion } : {}),
    }),
    idGenerator: ids,
    spanLimits: { attributeValueLengthLimit: ATTRIBUTE_VALUE_LIMIT, attributeCountLimit: 64 },
    spanProcessors: [
      options.processor === "simple"
        ? new SimpleSpanProcessor(exporter)
        : new BatchSpanProcessor(exporter),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const tracer = provider.getTracer("saga-orchestrator");
  const spans = new SagaSpans((span) => {
    const parent = span.parentSpanId
      ? trace.setSpanContext(ROOT_CONTEXT, {
          traceId: span.traceId,
          spanId: span.parentSpanId,
          traceFlags: TraceFlags.SAMPLED,
          isRemote: true,
        })
      : ROOT_CONTEXT;
    const links: Link[] = span.links.map((context) => ({ context }));
    const started = ids.with(span.traceId, span.spanId, () =>
      tracer.startSpan(
        span.name,
        {
          kind: span.kind === "consumer" ? SpanKind.CONSUMER : SpanKind.INTERNAL,
          startTime: new Date(span.start),
          attributes: span.attributes,
          links,
          root: !span.parentSpanId,
        },
        parent,
      ),
    );
    if (span.error !== null) started.setStatus({ code: SpanStatusCode.ERROR, message: span.error });
    started.end(new Date(Math.max(span.start, span.end)));
  });
  let stopped = false;
  return {
    tracer,
    listener: (state: SagaState, events: readonly SagaEvent[]) => spans.committed(state, events),
    flush: () => provider.forceFlush(),
    async shutdown() {
      if (stopped) return;
      stopped = true;
      await provider.shutdown();
      trace.disable();
      propagation.disable();
    },
  };
}
