import { createHash } from "node:crypto";
import { ROOT_CONTEXT, TraceFlags, propagation, trace } from "@opentelemetry/api";
import { attemptSpanId, sagaSpanId, sagaTraceId } from "../engine/trace-ids.js";
import type { Json } from "../core/json.js";
import type { SagaEvent } from "../core/events.js";
import type { SagaState } from "../core/state.js";

/** A row for the outbox, as the create and commit statements take it ($3). */
export interface OutboxInsertRow {
  saga_id: string;
  seq: number;
  sub: number;
  event_id: string;
  tenant_id: string;
  type: string;
  key: string | null;
  data: Json;
  /** Bus headers: the trace context of the span that wrote the row, when tracing is on. */
  headers?: Record<string, string>;
}

const LIFECYCLE: Partial<Record<SagaEvent["type"], string>> = {
  SagaStarted: "saga.started",
  StepCompleted: "saga.step.completed",
  StepFailed: "saga.step.failed",
  SagaCompensationStarted: "saga.compensating",
  SagaCompleted: "saga.completed",
  SagaCompensated: "saga.compensated",
  SagaFailed: "saga.failed",
};

/**
 * The outbox rows of one write: lifecycle events when `lifecycle` is set (the saga's outbox
 * flag), and the `publish` messages of completed steps always. `state` is the saga after the
 * write (its status is the one every lifecycle message of the write carries); `fromSeq` the
 * stream version before it. A lifecycle message's id is derived from (saga, seq), so a relay
 * that resends it sends the same id. When tracing is on (a propagator is registered), each row
 * carries the trace context of its saga in its headers (of the attempt, for a step's events), so
 * that a consumer continues the saga's trace.
 */
export function outboxRows(
  state: SagaState,
  fromSeq: number,
  events: readonly SagaEvent[],
  lifecycle: boolean,
): OutboxInsertRow[] {
  const rows: OutboxInsertRow[] = [];
  const tracing = propagation.fields().length > 0;
  events.forEach((event, i) => {
    const seq = fromSeq + i + 1;
    const type = lifecycle ? LIFECYCLE[event.type] : undefined;
    if (type) {
      const e = event as Partial<Record<string, Json>>;
      rows.push({
        saga_id: state.id,
        seq,
        sub: 0,
        event_id: lifecycleEventId(state.id, seq),
        tenant_id: state.tenantId,
        type,
        key: state.id,
        data: stripNulls({
          sagaId: state.id,
          sagaType: state.name,
          seq,
          status: state.status,
          step: e.step ?? null,
          attempt: e.attempt ?? null,
          error: e.error ?? null,
          reason: e.reason ?? null,
          correlationId: state.correlationId ?? null,
          at: event.at,
        }),
        ...(tracing ? { headers: traceHeaders(state.id, event) } : {}),
      });
    }
    if (event.type === "StepCompleted" && Array.isArray(event.publish)) {
      event.publish.forEach((m, j) =>
        rows.push({
          saga_id: state.id,
          seq,
          sub: j + 1,
          event_id: m.id,
          tenant_id: state.tenantId,
          type: m.type,
          key: m.key ?? null,
          data: m.data,
          ...(tracing ? { headers: traceHeaders(state.id, event) } : {}),
        }),
      );
    }
  });
  return rows;
}

/** The trace context of the span an event belongs to: its attempt's, or the saga's. */
function traceHeaders(sagaId: string, event: SagaEvent): Record<string, string> {
  const attempt = "attempt" in event ? event.attempt : null;
  const phase = event.type.startsWith("StepCompensat") ? "compensation" : "forward";
  const spanContext = {
    traceId: sagaTraceId(sagaId),
    spanId:
      "step" in event && attempt !== null
        ? attemptSpanId(sagaId, event.step, phase, attempt)
        : sagaSpanId(sagaId),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: false,
  };
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), headers);
  return headers;
}

/** md5("<saga id>:<seq>") as a UUID: the id of a lifecycle message. */
export function lifecycleEventId(sagaId: string, seq: number): string {
  const h = createHash("md5").update(`${sagaId}:${seq}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Drops null-valued object fields at every depth (arrays keep their nulls), as jsonb_strip_nulls. */
function stripNulls(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = stripNulls(v);
  return out;
}
