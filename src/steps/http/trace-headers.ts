import { ROOT_CONTEXT, TraceFlags, propagation, trace } from "@opentelemetry/api";
import { attemptSpanId, sagaTraceId } from "../../engine/trace-ids.js";

/** What names an attempt: its saga, step and number, and its idempotency key (for the phase). */
export interface AttemptIdentity {
  sagaId: string;
  step?: string;
  attempt?: number;
  idempotencyKey: string;
}

/**
 * The trace context headers (`traceparent`, with the W3C propagator) an http step sends: the
 * downstream service's spans become children of this attempt's span, which tracing exports when
 * the attempt ends. Empty when tracing is off (no propagator is registered: nothing is computed)
 * or when the attempt is not named.
 */
export function traceHeaders(ctx: AttemptIdentity): Record<string, string> {
  const headers: Record<string, string> = {};
  if (propagation.fields().length === 0 || ctx.step === undefined || ctx.attempt === undefined)
    return headers;
  const phase = ctx.idempotencyKey.endsWith(":compensate") ? "compensation" : "forward";
  const spanContext = {
    traceId: sagaTraceId(ctx.sagaId),
    spanId: attemptSpanId(ctx.sagaId, ctx.step, phase, ctx.attempt),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: false,
  };
  propagation.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), headers);
  return headers;
}
