import { describe, expect, it } from "vitest";
import { errorInfo } from "../../src/core/errors.js";
import type { SagaEvent } from "../../src/core/events.js";
import { applyEvent } from "../../src/core/reducer.js";
import type { SagaState } from "../../src/core/state.js";
import { sagaSpanId } from "../../src/engine/trace-ids.js";
import { SagaSpans, type SagaSpan } from "../../src/telemetry/saga-spans.js";

const SAGA = "0190f3c2-7a4b-7c3d-8e5f-123456789abc";

/** Feeds commits (lists of events) to SagaSpans as the orchestrator would; returns the spans. */
function spansOf(commits: SagaEvent[][], writtenElsewhere = 0): SagaSpan[] {
  const out: SagaSpan[] = [];
  const spans = new SagaSpans((s) => out.push(s));
  let state: SagaState | null = null;
  commits.forEach((commit, i) => {
    for (const e of commit) state = applyEvent(state, e);
    if (i >= writtenElsewhere) spans.committed(state!, commit);
  });
  return out;
}

const started: SagaEvent = {
  type: "SagaStarted",
  at: 1000,
  sagaId: SAGA,
  tenantId: "t",
  name: "wait",
  version: 1,
  input: null,
  idempotencyKey: null,
  deadlineAt: null,
};
const failure = errorInfo("SAGA_STEP_FAILED", "broke", false);

describe("saga spans", () => {
  it("a suspended step's attempt ends at the suspension; its later completion makes no second span", () => {
    const spans = spansOf([
      [started, { type: "StepStarted", at: 1001, step: "w", attempt: 1 }],
      [{ type: "StepSuspended", at: 1005, step: "w", attempt: 1, until: 9000, wait: null }],
      [{ type: "StepCompleted", at: 9000, step: "w", attempt: 1, result: null }],
      [{ type: "SagaCompleted", at: 9001 }],
    ]);
    expect(spans.map((s) => [s.name, s.start, s.end, s.attributes["saga.step.outcome"]])).toEqual([
      ["step w", 1001, 1005, "suspended"],
      ["saga wait", 1000, 9001, undefined],
    ]);
  });

  it("an attempt this process did not start (it was lost elsewhere) has no span", () => {
    const spans = spansOf(
      [
        [started, { type: "StepStarted", at: 1001, step: "a", attempt: 1 }],
        [{ type: "StepFailed", at: 1003, step: "a", attempt: 1, error: failure, retryAt: null }],
      ],
      1,
    );
    expect(spans).toEqual([]);
  });

  it("a failed saga retried by an operator: the root span ends at the failure, the rerun is a child", () => {
    const spans = spansOf([
      [started, { type: "StepStarted", at: 1001, step: "a", attempt: 1 }],
      [
        { type: "StepFailed", at: 1002, step: "a", attempt: 1, error: failure, retryAt: null },
        { type: "SagaFailed", at: 1002, phase: "forward", error: failure },
      ],
      [{ type: "SagaRetried", at: 5000, deadlineAt: null }],
      [{ type: "StepStarted", at: 5001, step: "a", attempt: 2 }],
      [
        { type: "StepCompleted", at: 5002, step: "a", attempt: 2, result: null },
        { type: "SagaCompleted", at: 5003 },
      ],
    ]);
    const root = spans.find((s) => s.name === "saga wait")!;
    expect([root.spanId, root.start, root.end, root.error]).toEqual([
      sagaSpanId(SAGA),
      1000,
      1002,
      "SAGA_STEP_FAILED",
    ]);
    const rerun = spans.find((s) => s.name === "saga wait resumed")!;
    expect([rerun.parentSpanId, rerun.start, rerun.end, rerun.error]).toEqual([
      sagaSpanId(SAGA),
      5000,
      5003,
      null,
    ]);
    expect(rerun.spanId).not.toBe(root.spanId);
    expect(
      spans.filter((s) => s.name === "step a").map((s) => s.attributes["saga.attempt"]),
    ).toEqual([1, 2]);
  });

  it("tenant-chosen names are cut to 256 characters", () => {
    const long = "x".repeat(5000);
    const spans = spansOf([
      [
        { ...started, name: long },
        { type: "StepStarted", at: 1001, step: long, attempt: 1 },
      ],
      [{ type: "StepCompleted", at: 1002, step: long, attempt: 1, result: null }],
    ]);
    expect(spans).toHaveLength(1);
    expect(spans[0]!.name.length).toBeLessThanOrEqual(256);
    for (const value of Object.values(spans[0]!.attributes))
      expect(String(value).length).toBeLessThanOrEqual(256);
  });
});
