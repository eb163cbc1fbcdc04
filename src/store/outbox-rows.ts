import { createHash } from "node:crypto";
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
 * that resends it sends the same id.
 */
export function outboxRows(
  state: SagaState,
  fromSeq: number,
  events: readonly SagaEvent[],
  lifecycle: boolean,
): OutboxInsertRow[] {
  const rows: OutboxInsertRow[] = [];
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
        }),
      );
    }
  });
  return rows;
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
