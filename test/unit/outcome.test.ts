import { describe, expect, it } from "vitest";
import { errorInfo } from "../../src/core/errors.js";
import { outcomeEvent, type SettledAttempt } from "../../src/core/outcome.js";
import { DEFAULT_RETRY_POLICY, type StepPlan } from "../../src/core/plan.js";
import { PENDING_STEP } from "../../src/core/state.js";

const plan: StepPlan = {
  name: "charge",
  timeoutMs: null,
  retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 3, jitter: 0 },
  compensable: true,
  compensationTimeoutMs: null,
  compensationRetry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 },
  conditional: false,
};

const settled = (over: Partial<SettledAttempt>): SettledAttempt => ({
  phase: "forward",
  plan,
  state: { ...PENDING_STEP, status: "running", attempts: 1 },
  attempt: 1,
  outcome: { kind: "ok", result: null },
  abortError: null,
  now: 1_000,
  random: 0.5,
  ...over,
});

describe("outcomeEvent: how an attempt's outcome is recorded", () => {
  it("records a forward success with its result and the messages it publishes", () => {
    const publish = [{ id: "m-1", type: "order.charged", key: "o-1", data: { id: 1 } }];
    expect(outcomeEvent(settled({ outcome: { kind: "ok", result: { id: 1 }, publish } }))).toEqual({
      type: "StepCompleted",
      step: "charge",
      attempt: 1,
      result: { id: 1 },
      publish,
    });
  });

  it("records a compensation's success, also when it returned a suspension (compensations do not wait)", () => {
    for (const outcome of [
      { kind: "ok" as const, result: 1 },
      { kind: "suspend" as const, until: 5_000, wait: null },
    ]) {
      expect(outcomeEvent(settled({ phase: "compensation", outcome }))).toEqual({
        type: "StepCompensated",
        step: "charge",
        attempt: 1,
      });
    }
  });

  it("suspends a forward step until its time or event", () => {
    expect(
      outcomeEvent(settled({ outcome: { kind: "suspend", until: 5_000, wait: null } })),
    ).toEqual({ type: "StepSuspended", step: "charge", attempt: 1, until: 5_000, wait: null });
  });

  it("records a failure with a retry time while the budget lasts, and none once it is spent", () => {
    const error = errorInfo("DOWN", "service down", true);
    const first = outcomeEvent(settled({ outcome: { kind: "error", error } }));
    expect(first).toMatchObject({ type: "StepFailed", attempt: 1, error });
    expect((first as { retryAt: number }).retryAt).toBeGreaterThan(1_000);
    const last = outcomeEvent(
      settled({
        attempt: 3,
        state: { ...PENDING_STEP, status: "running", attempts: 3 },
        outcome: { kind: "error", error },
      }),
    );
    expect(last).toMatchObject({ type: "StepFailed", attempt: 3, retryAt: null });
  });

  it("records an attempt the engine aborted, and nothing for one abandoned with the saga", () => {
    const abortError = errorInfo("SAGA_CANCELLED", "the saga was cancelled", false);
    const aborted = { kind: "aborted" as const, reason: new Error("stop") };
    expect(outcomeEvent(settled({ outcome: aborted, abortError }))).toEqual({
      type: "StepAborted",
      step: "charge",
      attempt: 1,
      error: abortError,
    });
    // The lease was lost or the process shuts down: whoever resumes the saga sees a lost attempt.
    expect(outcomeEvent(settled({ outcome: aborted, abortError: null }))).toBeNull();
    // A compensation is never recorded as aborted: it runs to its end or is lost.
    expect(
      outcomeEvent(settled({ phase: "compensation", outcome: aborted, abortError })),
    ).toBeNull();
  });
});
