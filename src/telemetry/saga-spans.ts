import type { SagaEvent } from "../core/events.js";
import type { SagaState } from "../core/state.js";
import {
  attemptSpanId,
  isTraceparent,
  sagaChildSpanId,
  sagaSpanId,
  sagaTraceId,
  type AttemptPhase,
} from "../engine/trace-ids.js";

/** A finished span, with the ids and times the saga's events give it. */
export interface SagaSpan {
  name: string;
  kind: "internal" | "consumer";
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  /** Epoch milliseconds. */
  start: number;
  end: number;
  attributes: Record<string, string | number | boolean>;
  /** An error code when the span failed, else null. */
  error: string | null;
  links: { traceId: string; spanId: string; traceFlags: number }[];
}

/** Longest string attribute or span name (characters): names and codes are tenant-chosen. */
export const MAX_ATTRIBUTE_CHARS = 256;

/** Attempts started here and not yet ended (a lost attempt never ends): the oldest go first. */
const MAX_OPEN_ATTEMPTS = 10_000;

const clip = (text: string): string =>
  text.length > MAX_ATTRIBUTE_CHARS ? `${text.slice(0, MAX_ATTRIBUTE_CHARS - 1)}…` : text;

/**
 * Turns a saga's committed events into spans, in the saga's own trace (its id is the trace id):
 * - the saga span (root), from `SagaStarted` to the first `SagaCompleted`, `SagaCompensated` or
 *   `SagaFailed`; a saga that moves again afterwards (an operator retry, a requested
 *   compensation) gets a `saga … resumed` child span per further end;
 * - one span per attempt of a step (`step <name>`) and of a compensation (`compensate <name>`),
 *   from its `…Started` event to its outcome, when this process wrote both (the process that runs
 *   an attempt does: a lost attempt has no span);
 * - `start <name>`, a CONSUMER span linking the saga to the trace context of what started it
 *   (the HTTP request or the bus event), when the start carried one.
 * No input, result or error message goes into a span: ids, names, numbers, outcomes and error
 * codes only, each cut to MAX_ATTRIBUTE_CHARS.
 */
export class SagaSpans {
  private readonly open = new Map<string, number>();
  private readonly resumed = new Map<string, number>();

  constructor(private readonly emit: (span: SagaSpan) => void) {}

  committed(state: SagaState, events: readonly SagaEvent[]): void {
    for (const event of events) this.record(state, event);
  }

  private record(state: SagaState, e: SagaEvent): void {
    switch (e.type) {
      case "SagaStarted":
        if (isTraceparent(e.traceparent)) this.startLink(state, e.at, e.traceparent);
        break;
      case "StepStarted":
        this.opened(state.id, e.step, "forward", e.attempt, e.at);
        break;
      case "StepCompensationStarted":
        this.opened(state.id, e.step, "compensation", e.attempt, e.at);
        break;
      case "StepCompleted":
        this.attempt(state, e.step, "forward", e.attempt, e.at, "completed", null);
        break;
      case "StepSuspended":
        this.attempt(state, e.step, "forward", e.attempt, e.at, "suspended", null);
        break;
      case "StepFailed":
        this.attempt(state, e.step, "forward", e.attempt, e.at, "failed", e.error.code);
        break;
      case "StepAborted":
        this.attempt(state, e.step, "forward", e.attempt, e.at, "aborted", e.error.code);
        break;
      case "StepCompensated":
        this.attempt(state, e.step, "compensation", e.attempt, e.at, "compensated", null);
        break;
      case "StepCompensationFailed":
        this.attempt(state, e.step, "compensation", e.attempt, e.at, "failed", e.error.code);
        break;
      case "SagaRetried":
        this.remember(this.resumed, state.id, e.at);
        break;
      case "SagaCompensationStarted":
        if (e.reason === "requested") this.remember(this.resumed, state.id, e.at);
        break;
      case "SagaCompleted":
      case "SagaCompensated":
      case "SagaFailed":
        this.saga(state, e);
        break;
      default:
        break;
    }
  }

  private opened(sagaId: string, step: string, phase: AttemptPhase, n: number, at: number): void {
    this.remember(this.open, `${sagaId}\u0000${step}\u0000${phase}\u0000${n}`, at);
  }

  private remember(map: Map<string, number>, key: string, at: number): void {
    map.delete(key);
    map.set(key, at);
    if (map.size > MAX_OPEN_ATTEMPTS) map.delete(map.keys().next().value!);
  }

  private attempt(
    state: SagaState,
    step: string,
    phase: AttemptPhase,
    n: number,
    at: number,
    outcome: string,
    error: string | null,
  ): void {
    const key = `${state.id}\u0000${step}\u0000${phase}\u0000${n}`;
    const start = this.open.get(key);
    // A suspended step's later completion is not an attempt: the wait is in the saga span.
    if (start === undefined) return;
    this.open.delete(key);
    this.emit({
      name: clip(`${phase === "forward" ? "step" : "compensate"} ${step}`),
      kind: "internal",
      traceId: sagaTraceId(state.id),
      spanId: attemptSpanId(state.id, step, phase, n),
      parentSpanId: sagaSpanId(state.id),
      start,
      end: at,
      attributes: {
        ...this.sagaAttributes(state),
        "saga.step": clip(step),
        "saga.phase": phase,
        "saga.attempt": n,
        "saga.step.outcome": outcome,
        ...(error !== null ? { "error.type": clip(error) } : {}),
      },
      error: error === null ? null : clip(error),
      links: [],
    });
  }

  private saga(
    state: SagaState,
    e: Extract<SagaEvent, { type: "SagaCompleted" | "SagaCompensated" | "SagaFailed" }>,
  ): void {
    const status =
      e.type === "SagaCompleted"
        ? "completed"
        : e.type === "SagaCompensated"
          ? "compensated"
          : "failed";
    const error = e.type === "SagaFailed" ? clip(e.error.code) : null;
    const attributes = {
      ...this.sagaAttributes(state),
      "saga.status": status,
      ...(state.reason ? { "saga.reason": state.reason } : {}),
      ...(e.type === "SagaFailed" ? { "saga.failed_phase": e.phase, "error.type": error! } : {}),
    };
    const traceId = sagaTraceId(state.id);
    const rootId = sagaSpanId(state.id);
    const resumedAt = this.resumed.get(state.id);
    this.resumed.delete(state.id);
    if (resumedAt === undefined && !movedAgain(state)) {
      this.emit({
        name: clip(`saga ${state.name}`),
        kind: "internal",
        traceId,
        spanId: rootId,
        parentSpanId: null,
        start: state.startedAt,
        end: e.at,
        attributes,
        error,
        links: [],
      });
      return;
    }
    this.emit({
      name: clip(`saga ${state.name} resumed`),
      kind: "internal",
      traceId,
      spanId: sagaChildSpanId(state.id, `resumed:${e.at}`),
      parentSpanId: rootId,
      start: resumedAt ?? e.at,
      end: e.at,
      attributes,
      error,
      links: [],
    });
  }

  private startLink(state: SagaState, at: number, traceparent: string): void {
    const [, traceId, spanId, flags] = traceparent.split("-");
    this.emit({
      name: clip(`start ${state.name}`),
      kind: "consumer",
      traceId: sagaTraceId(state.id),
      spanId: sagaChildSpanId(state.id, "start"),
      parentSpanId: sagaSpanId(state.id),
      start: at,
      end: at,
      attributes: this.sagaAttributes(state),
      error: null,
      links: [{ traceId: traceId!, spanId: spanId!, traceFlags: Number.parseInt(flags!, 16) & 1 }],
    });
  }

  private sagaAttributes(state: SagaState): Record<string, string | number> {
    return {
      "saga.id": state.id,
      "saga.name": clip(state.name),
      "saga.version": state.version,
      "saga.tenant_id": clip(state.tenantId),
      ...(state.correlationId ? { "saga.correlation_id": clip(state.correlationId) } : {}),
    };
  }
}

/** Has the saga moved after an earlier end (an operator retry or a requested compensation)? */
function movedAgain(state: SagaState): boolean {
  if (state.status === "compensated" && state.reason === "requested") return true;
  return Object.values(state.steps).some((s) => s.attemptBase > 0 || s.compensationAttemptBase > 0);
}
