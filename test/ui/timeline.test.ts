// The console's Gantt rows from a saga's history: attempts, retry delays, sleeps, and the
// compensations in the order they ran (the reverse of completion).
import { describe, expect, it } from "vitest";
import { buildTimeline } from "../../ui/src/timeline.js";
import type { ApiEvent } from "../../ui/src/types.js";

let seq = 0;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const ev = (ms: number, type: string, data: Record<string, unknown> = {}): ApiEvent => ({
  seq: ++seq,
  type,
  at: new Date(T0 + ms).toISOString(),
  data,
});
const error = { name: "Error", code: "E", message: "boom", retryable: true };

describe("buildTimeline", () => {
  it("draws attempts, a retry delay, a sleep and compensations in reverse order", () => {
    const t = buildTimeline([
      ev(0, "SagaStarted", { sagaId: "s" }),
      ev(0, "StepStarted", { step: "a", attempt: 1 }),
      ev(100, "StepCompleted", { step: "a", attempt: 1, result: null }),
      ev(100, "StepStarted", { step: "b", attempt: 1 }),
      ev(150, "StepFailed", { step: "b", attempt: 1, error, retryAt: T0 + 400 }),
      ev(410, "StepStarted", { step: "b", attempt: 2 }),
      ev(500, "StepSuspended", { step: "b", attempt: 2, until: T0 + 1500, wait: null }),
      ev(1500, "StepCompleted", { step: "b", attempt: 2, result: null }),
      ev(1500, "StepStarted", { step: "c", attempt: 1 }),
      ev(1600, "StepFailed", { step: "c", attempt: 1, error, retryAt: null }),
      ev(1600, "SagaCompensationStarted", { reason: "step_failed", error }),
      ev(1600, "StepCompensationStarted", { step: "b", attempt: 1 }),
      ev(1650, "StepCompensated", { step: "b", attempt: 1 }),
      ev(1650, "StepCompensationStarted", { step: "a", attempt: 1 }),
      ev(1700, "StepCompensated", { step: "a", attempt: 1 }),
      ev(1700, "SagaCompensated"),
    ]);
    expect(t.end).toBe(T0 + 1700);
    expect(t.completionOrder).toEqual(["a", "b"]);
    expect(t.compensationOrder).toEqual(["b", "a"]);
    expect(t.rows.map((r) => `${r.order ?? "-"} ${r.label}`)).toEqual([
      "- a",
      "- b",
      "- c",
      "1 undo b",
      "2 undo a",
    ]);
    const b = t.rows[1]!.bars.map((x) => [x.kind, x.outcome, x.start - T0, x.end! - T0]);
    expect(b).toEqual([
      ["attempt", "failed", 100, 150],
      ["retry-delay", "ok", 150, 410],
      ["attempt", "ok", 410, 500],
      ["sleep", "ok", 500, 1500],
    ]);
    expect(t.rows[2]!.bars[0]).toMatchObject({ outcome: "failed", error });
  });

  it("leaves a running attempt open, and closes it as aborted when the saga ends", () => {
    const running = buildTimeline([
      ev(0, "SagaStarted"),
      ev(10, "StepStarted", { step: "a", attempt: 1 }),
    ]);
    expect(running.end).toBeNull();
    expect(running.rows[0]!.bars[0]).toMatchObject({ end: null, outcome: "running" });
    const waiting = buildTimeline([
      ev(0, "SagaStarted"),
      ev(10, "StepStarted", { step: "w", attempt: 1 }),
      ev(20, "StepSuspended", {
        step: "w",
        attempt: 1,
        until: null,
        wait: { topic: "paid", path: "data.id", key: "1" },
      }),
      ev(30, "SagaFailed", { phase: "forward", error }),
    ]);
    expect(waiting.rows[0]!.bars[1]).toMatchObject({
      kind: "wait",
      label: "wait for paid",
      end: T0 + 30,
    });
  });
});
