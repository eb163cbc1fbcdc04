import type { ApiEvent } from "./types.js";

export type BarKind =
  | "attempt"
  | "retry-delay"
  | "wait"
  | "sleep"
  | "child"
  | "compensation"
  | "compensation-retry-delay";
export type BarOutcome = "ok" | "failed" | "aborted" | "running" | "suspended" | "waiting";

export interface Bar {
  kind: BarKind;
  step: string;
  attempt: number | null;
  start: number;
  /** null: still under way (drawn to `now`). */
  end: number | null;
  outcome: BarOutcome;
  label: string;
  error: { code: string; message: string } | null;
}

export interface Row {
  key: string;
  label: string;
  phase: "forward" | "compensation";
  /** Compensations: 1 for the first one that ran. */
  order: number | null;
  bars: Bar[];
}

export interface Timeline {
  start: number;
  end: number | null;
  rows: Row[];
  /** Forward steps in completion order, and the order compensations ran in. */
  completionOrder: string[];
  compensationOrder: string[];
}

const t = (e: ApiEvent) => Date.parse(e.at);
/**
 * The Gantt rows of a saga's history: one row per step (its attempts, retry delays, waits, sleeps
 * and child sagas) and one row per compensation, in the order the compensations ran.
 */
export function buildTimeline(events: readonly ApiEvent[]): Timeline {
  const rows = new Map<string, Row>();
  const open = new Map<string, Bar>();
  const completionOrder: string[] = [];
  const compensationOrder: string[] = [];
  const rowOf = (step: string, phase: Row["phase"]) => {
    const key = `${phase}:${step}`;
    let row = rows.get(key);
    if (!row) {
      row = {
        key,
        label: phase === "forward" ? step : `undo ${step}`,
        phase,
        order: phase === "compensation" ? compensationOrder.length + 1 : null,
        bars: [],
      };
      if (phase === "compensation") compensationOrder.push(step);
      rows.set(key, row);
    }
    return row;
  };
  const close = (key: string, at: number, outcome: BarOutcome, error: Bar["error"] = null) => {
    const bar = open.get(key);
    if (!bar) return;
    bar.end = at;
    bar.outcome = outcome;
    bar.error = error;
    open.delete(key);
  };
  const begin = (row: Row, bar: Omit<Bar, "end" | "outcome" | "error">, outcome: BarOutcome) => {
    const full: Bar = { ...bar, end: null, outcome, error: null };
    row.bars.push(full);
    open.set(`${row.key}`, full);
    return full;
  };
  let start = events[0] ? t(events[0]) : 0;
  let end: number | null = null;

  for (const e of events) {
    const at = t(e);
    const d = e.data as Record<string, unknown>;
    const step = typeof d.step === "string" ? d.step : "";
    const attempt = typeof d.attempt === "number" ? d.attempt : null;
    const err = (d.error ?? null) as Bar["error"];
    switch (e.type) {
      case "SagaStarted":
        start = at;
        break;
      case "StepStarted": {
        const row = rowOf(step, "forward");
        close(row.key, at, "ok"); // a retry delay ends
        begin(
          row,
          { kind: "attempt", step, attempt, start: at, label: `attempt ${attempt}` },
          "running",
        );
        break;
      }
      case "StepCompleted": {
        const row = rowOf(step, "forward");
        close(row.key, at, "ok");
        completionOrder.push(step);
        break;
      }
      case "StepFailed": {
        const row = rowOf(step, "forward");
        close(row.key, at, "failed", err);
        const retryAt = d.retryAt as number | null;
        if (retryAt !== null) {
          const bar = begin(
            row,
            { kind: "retry-delay", step, attempt, start: at, label: "retry delay" },
            "waiting",
          );
          bar.end = retryAt; // replaced by the next StepStarted's time if that came later
          open.set(row.key, bar);
        }
        break;
      }
      case "StepAborted":
        close(`forward:${step}`, at, "aborted", err);
        break;
      case "StepSuspended": {
        const row = rowOf(step, "forward");
        close(row.key, at, "ok");
        const wait = d.wait as { topic: string } | null;
        const until = d.until as number | null;
        const kind: BarKind = wait ? "wait" : until !== null ? "sleep" : "child";
        const label = wait ? `wait for ${wait.topic}` : until !== null ? "sleep" : "child saga";
        const bar = begin(row, { kind, step, attempt, start: at, label }, "suspended");
        if (until !== null && !wait) bar.end = until;
        open.set(row.key, bar);
        break;
      }
      case "StepSkipped":
        rowOf(step, "forward").bars.push({
          kind: "attempt",
          step,
          attempt: null,
          start: at,
          end: at,
          outcome: "ok",
          label: "skipped",
          error: null,
        });
        break;
      case "StepCompensationStarted": {
        const row = rowOf(step, "compensation");
        close(row.key, at, "ok");
        begin(
          row,
          { kind: "compensation", step, attempt, start: at, label: `undo attempt ${attempt}` },
          "running",
        );
        break;
      }
      case "StepCompensated":
        close(`compensation:${step}`, at, "ok");
        break;
      case "StepCompensationFailed": {
        const row = rowOf(step, "compensation");
        close(row.key, at, "failed", err);
        const retryAt = d.retryAt as number | null;
        if (retryAt !== null) {
          const bar = begin(
            row,
            { kind: "compensation-retry-delay", step, attempt, start: at, label: "retry delay" },
            "waiting",
          );
          bar.end = retryAt;
          open.set(row.key, bar);
        }
        break;
      }
      case "SagaCompleted":
      case "SagaCompensated":
      case "SagaFailed":
        end = at;
        break;
      default:
        break;
    }
  }
  // A bar left open when the saga ended (or a sleep/retry delay that ends in the future) keeps
  // its planned end; one that is simply under way has none.
  for (const bar of open.values()) {
    if (bar.end !== null) {
      if (end !== null && bar.end > end) bar.end = end;
      continue;
    }
    bar.end = end;
    if (end !== null && bar.outcome === "running") bar.outcome = "aborted";
  }
  const forward = [...rows.values()].filter((r) => r.phase === "forward");
  const compensation = [...rows.values()].filter((r) => r.phase === "compensation");
  return { start, end, rows: [...forward, ...compensation], completionOrder, compensationOrder };
}

export const barDuration = (bar: Bar, now: number) => (bar.end ?? now) - bar.start;
