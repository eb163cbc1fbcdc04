import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/core/events.js";
import { applyEvent, InvalidTransitionError, replay } from "../../src/core/reducer.js";
import { PENDING_STEP, stepResults, type SagaState } from "../../src/core/state.js";
import {
  boom,
  deepFreeze,
  startedEvent,
  stateAfter,
  T0,
  type Stamped,
} from "./support/builders.js";

const AT = T0 + 500;

/** Applies one event (at AT) to the state after `drafts`, and returns both states. */
function step(drafts: Stamped[], event: Stamped, deadlineAt: number | null = null) {
  const before = stateAfter(drafts, deadlineAt);
  const after = applyEvent(before, { ...event, at: event.at ?? AT });
  return { before, after };
}

const completedA: Stamped[] = [
  { type: "StepStarted", step: "a", attempt: 1 },
  { type: "StepCompleted", step: "a", attempt: 1, result: { id: 1 } },
];
const completedAB: Stamped[] = [
  ...completedA,
  { type: "StepStarted", step: "b", attempt: 1 },
  { type: "StepCompleted", step: "b", attempt: 1, result: "b-result" },
];

describe("applyEvent: saga events", () => {
  it("SagaStarted builds a running saga at seq 1 with no steps", () => {
    expect(applyEvent(null, startedEvent(T0, T0 + 60_000))).toStrictEqual({
      id: "saga-1",
      tenantId: "tenant-1",
      name: "test-saga",
      version: 1,
      input: { order: 42 },
      status: "running",
      reason: null,
      error: null,
      failedPhase: null,
      idempotencyKey: null,
      correlationId: null,
      attributes: {},
      parent: null,
      deadlineAt: T0 + 60_000,
      startedAt: T0,
      updatedAt: T0,
      endedAt: null,
      seq: 1,
      steps: {},
      completionOrder: [],
    });
  });

  it("SagaStarted keeps the idempotency key, correlation id and attributes", () => {
    const state = applyEvent(null, {
      ...startedEvent(),
      idempotencyKey: "order-42",
      correlationId: "req-7",
      attributes: { orderId: "o-42", region: "eu" },
    });
    expect(state).toMatchObject({
      idempotencyKey: "order-42",
      correlationId: "req-7",
      attributes: { orderId: "o-42", region: "eu" },
    });
  });

  it("every later event increments seq by one and sets updatedAt", () => {
    const { before, after } = step(completedA, { type: "StepStarted", step: "b", attempt: 1 });
    expect(after.seq).toBe(before.seq + 1);
    expect(after.seq).toBe(4);
    expect(after.updatedAt).toBe(AT);
    expect(after.startedAt).toBe(T0);
  });

  it("SagaCompleted ends the saga as completed", () => {
    const { after } = step(completedA, { type: "SagaCompleted" });
    expect(after.status).toBe("completed");
    expect(after.endedAt).toBe(AT);
    expect(after.reason).toBeNull();
  });

  it("SagaCompensationStarted records the reason and the error and clears failedPhase", () => {
    const error = boom("declined", false);
    const { after } = step(
      [
        ...completedA,
        { type: "StepStarted", step: "b", attempt: 1 },
        { type: "StepFailed", step: "b", attempt: 1, error, retryAt: null },
        { type: "SagaFailed", phase: "forward", error },
      ],
      { type: "SagaCompensationStarted", reason: "cancelled", error: boom("cancel", false) },
    );
    expect(after.status).toBe("compensating");
    expect(after.reason).toBe("cancelled");
    expect(after.error).toEqual(boom("cancel", false));
    expect(after.failedPhase).toBeNull();
    expect(after.endedAt).toBeNull();
  });

  it("SagaCompensated ends the saga as compensated, keeping its reason", () => {
    const { after } = step(
      [...completedA, { type: "SagaCompensationStarted", reason: "timed_out", error: boom() }],
      { type: "SagaCompensated" },
    );
    expect(after.status).toBe("compensated");
    expect(after.reason).toBe("timed_out");
    expect(after.endedAt).toBe(AT);
  });

  it.each(["forward", "compensation"] as const)(
    "SagaFailed (%s) records phase, error, end",
    (phase) => {
      const error = boom("gave up", false);
      const { after } = step(completedA, { type: "SagaFailed", phase, error });
      expect(after.status).toBe("failed");
      expect(after.failedPhase).toBe(phase);
      expect(after.error).toEqual(error);
      expect(after.endedAt).toBe(AT);
    },
  );
});

describe("applyEvent: step events", () => {
  it("StepStarted marks the step running with the attempt number and clears its retry time", () => {
    const { after } = step(
      [
        { type: "StepStarted", step: "a", attempt: 1 },
        { type: "StepFailed", step: "a", attempt: 1, error: boom(), retryAt: T0 + 100 },
      ],
      { type: "StepStarted", step: "a", attempt: 2 },
    );
    expect(after.steps.a).toMatchObject({
      status: "running",
      attempts: 2,
      retryAt: null,
      startedAt: AT,
      endedAt: null,
    });
  });

  it("the first event of a step starts from the pending defaults", () => {
    const { after } = step([], { type: "StepStarted", step: "a", attempt: 1 });
    expect(after.steps.a).toStrictEqual({
      ...PENDING_STEP,
      status: "running",
      attempts: 1,
      startedAt: AT,
    });
    expect(PENDING_STEP.status).toBe("pending");
    expect(PENDING_STEP.attempts).toBe(0);
  });

  it("StepCompleted stores the result, clears the error and appends to completionOrder", () => {
    const { after } = step(
      [
        ...completedA,
        { type: "StepStarted", step: "b", attempt: 1 },
        { type: "StepFailed", step: "b", attempt: 1, error: boom(), retryAt: T0 + 100 },
        { type: "StepStarted", step: "b", attempt: 2 },
      ],
      { type: "StepCompleted", step: "b", attempt: 2, result: { ok: true } },
    );
    expect(after.steps.b).toMatchObject({
      status: "completed",
      attempts: 2,
      result: { ok: true },
      error: null,
      endedAt: AT,
    });
    expect(after.completionOrder).toEqual(["a", "b"]);
  });

  it("StepFailed records the error and the retry time; attempts and completionOrder stay", () => {
    const error = boom("unavailable", true);
    const { before, after } = step(
      [...completedA, { type: "StepStarted", step: "b", attempt: 1 }],
      { type: "StepFailed", step: "b", attempt: 1, error, retryAt: AT + 100 },
    );
    expect(after.steps.b).toMatchObject({
      status: "failed",
      attempts: 1,
      error,
      retryAt: AT + 100,
      endedAt: AT,
    });
    expect(after.completionOrder).toEqual(before.completionOrder);
    expect(after.status).toBe("running");
  });

  it("StepAborted marks the step aborted with the error and no retry", () => {
    const error = boom("cancelled", false);
    const { after } = step([{ type: "StepStarted", step: "a", attempt: 1 }], {
      type: "StepAborted",
      step: "a",
      attempt: 1,
      error,
    });
    expect(after.steps.a).toMatchObject({ status: "aborted", error, retryAt: null, endedAt: AT });
    expect(after.completionOrder).toEqual([]);
  });

  it("StepSkipped marks the step skipped without an attempt and outside completionOrder", () => {
    const { after } = step([], { type: "StepSkipped", step: "a" });
    expect(after.steps.a).toMatchObject({
      status: "skipped",
      attempts: 0,
      startedAt: AT,
      endedAt: AT,
    });
    expect(after.completionOrder).toEqual([]);
  });

  it("StepCompensationStarted marks the step compensating with the compensation attempt", () => {
    const { after } = step(
      [...completedA, { type: "SagaCompensationStarted", reason: "step_failed", error: boom() }],
      { type: "StepCompensationStarted", step: "a", attempt: 1 },
    );
    expect(after.steps.a).toMatchObject({
      status: "compensating",
      attempts: 1,
      compensationAttempts: 1,
      compensationRetryAt: null,
      result: { id: 1 },
    });
  });

  it("StepCompensationFailed records the compensation error and its retry time", () => {
    const error = boom("refund failed");
    const { after } = step(
      [
        ...completedA,
        { type: "SagaCompensationStarted", reason: "step_failed", error: boom() },
        { type: "StepCompensationStarted", step: "a", attempt: 1 },
      ],
      { type: "StepCompensationFailed", step: "a", attempt: 1, error, retryAt: AT + 200 },
    );
    expect(after.steps.a).toMatchObject({
      status: "compensation_failed",
      compensationAttempts: 1,
      compensationError: error,
      compensationRetryAt: AT + 200,
      error: null,
    });
  });

  it("StepCompensated marks the step compensated, keeping it in completionOrder", () => {
    const { after } = step(
      [
        ...completedA,
        { type: "SagaCompensationStarted", reason: "step_failed", error: boom() },
        { type: "StepCompensationStarted", step: "a", attempt: 1 },
        { type: "StepCompensationFailed", step: "a", attempt: 1, error: boom(), retryAt: T0 + 99 },
        { type: "StepCompensationStarted", step: "a", attempt: 2 },
      ],
      { type: "StepCompensated", step: "a", attempt: 2 },
    );
    expect(after.steps.a).toMatchObject({
      status: "compensated",
      compensationAttempts: 2,
      compensationError: null,
      compensationRetryAt: null,
      compensatedAt: AT,
    });
    expect(after.completionOrder).toEqual(["a"]);
    expect(stepResults(after)).toEqual({ a: { id: 1 } });
  });
});

describe("applyEvent: SagaRetried", () => {
  it("after a forward failure: running again, failed-for-good and aborted steps get a fresh budget", () => {
    const error = boom("declined", false);
    const { before, after } = step(
      [
        ...completedA,
        { type: "StepStarted", step: "b", attempt: 1 },
        { type: "StepStarted", step: "c", attempt: 1 },
        { type: "StepStarted", step: "d", attempt: 1 },
        { type: "StepFailed", step: "b", attempt: 1, error: boom(), retryAt: T0 + 50 },
        { type: "StepStarted", step: "b", attempt: 2 },
        { type: "StepFailed", step: "b", attempt: 2, error, retryAt: null },
        { type: "StepAborted", step: "c", attempt: 1, error: boom("sibling", false) },
        { type: "StepFailed", step: "d", attempt: 1, error: boom(), retryAt: T0 + 900 },
        { type: "SagaFailed", phase: "forward", error },
      ],
      { type: "SagaRetried", deadlineAt: AT + 60_000 },
      T0 + 10_000,
    );
    expect(after.status).toBe("running");
    expect(after.error).toBeNull();
    expect(after.reason).toBeNull();
    expect(after.failedPhase).toBeNull();
    expect(after.endedAt).toBeNull();
    expect(after.deadlineAt).toBe(AT + 60_000);
    expect(after.steps.b).toMatchObject({ status: "pending", attempts: 2, attemptBase: 2 });
    expect(after.steps.c).toMatchObject({ status: "pending", attempts: 1, attemptBase: 1 });
    // A retry still scheduled keeps its own budget and time.
    expect(after.steps.d).toStrictEqual(before.steps.d);
    expect(after.steps.a).toStrictEqual(before.steps.a);
    expect(after.completionOrder).toEqual(["a"]);
  });

  it("after a compensation failure: compensating again, the failed compensation gets a fresh budget", () => {
    const error = boom("refund declined", false);
    const { before, after } = step(
      [
        ...completedAB,
        { type: "SagaCompensationStarted", reason: "cancelled", error: boom("cancel", false) },
        { type: "StepCompensationStarted", step: "b", attempt: 1 },
        { type: "StepCompensated", step: "b", attempt: 1 },
        { type: "StepCompensationStarted", step: "a", attempt: 1 },
        { type: "StepCompensationFailed", step: "a", attempt: 1, error: boom(), retryAt: T0 + 20 },
        { type: "StepCompensationStarted", step: "a", attempt: 2 },
        { type: "StepCompensationFailed", step: "a", attempt: 2, error, retryAt: null },
        { type: "SagaFailed", phase: "compensation", error },
      ],
      { type: "SagaRetried", deadlineAt: null },
      T0 + 10_000,
    );
    expect(after.status).toBe("compensating");
    expect(after.reason).toBe("cancelled");
    expect(after.failedPhase).toBeNull();
    expect(after.endedAt).toBeNull();
    expect(after.deadlineAt).toBeNull();
    expect(after.steps.a).toMatchObject({
      status: "completed",
      compensationAttempts: 2,
      compensationAttemptBase: 2,
    });
    expect(after.steps.b).toStrictEqual(before.steps.b);
    expect(after.completionOrder).toEqual(["a", "b"]);
  });
});

describe("applyEvent: invalid transitions", () => {
  const laterEvents: SagaEvent[] = [
    { type: "StepStarted", at: T0, step: "a", attempt: 1 },
    { type: "StepCompleted", at: T0, step: "a", attempt: 1, result: null },
    { type: "StepFailed", at: T0, step: "a", attempt: 1, error: boom(), retryAt: null },
    { type: "StepAborted", at: T0, step: "a", attempt: 1, error: boom() },
    { type: "StepSkipped", at: T0, step: "a" },
    { type: "SagaCompleted", at: T0 },
    { type: "SagaCompensationStarted", at: T0, reason: "cancelled", error: boom() },
    { type: "StepCompensationStarted", at: T0, step: "a", attempt: 1 },
    { type: "StepCompensated", at: T0, step: "a", attempt: 1 },
    { type: "StepCompensationFailed", at: T0, step: "a", attempt: 1, error: boom(), retryAt: null },
    { type: "SagaCompensated", at: T0 },
    { type: "SagaFailed", at: T0, phase: "forward", error: boom() },
    { type: "SagaRetried", at: T0, deadlineAt: null },
  ];

  it.each(laterEvents.map((e) => [e.type, e] as const))("%s before SagaStarted throws", (_, e) => {
    expect(() => applyEvent(null, e)).toThrow(InvalidTransitionError);
    expect(() => applyEvent(null, e)).toThrow(`${e.type} before SagaStarted`);
  });

  it("a second SagaStarted throws", () => {
    const state = applyEvent(null, startedEvent());
    expect(() => applyEvent(state, startedEvent(T0 + 1))).toThrow(InvalidTransitionError);
  });

  it.each<[string, Stamped[]]>([
    ["running", []],
    ["compensating", [{ type: "SagaCompensationStarted", reason: "cancelled", error: boom() }]],
    ["completed", [{ type: "SagaCompleted" }]],
    [
      "compensated",
      [
        { type: "SagaCompensationStarted", reason: "cancelled", error: boom() },
        { type: "SagaCompensated" },
      ],
    ],
  ])("SagaRetried on a %s saga throws", (status, drafts) => {
    const state = stateAfter(drafts);
    expect(state.status).toBe(status);
    expect(() => applyEvent(state, { type: "SagaRetried", at: AT, deadlineAt: null })).toThrow(
      `SagaRetried on a ${status} saga`,
    );
  });

  it("an unknown event type throws", () => {
    const state = stateAfter([]);
    const foreign = { type: "StepExploded", at: AT } as unknown as SagaEvent;
    expect(() => applyEvent(state, foreign)).toThrow(/unknown event type "StepExploded"/);
  });

  it("the error is a non-retryable SagaError with a stable code", () => {
    let caught: unknown;
    try {
      applyEvent(null, { type: "SagaCompleted", at: T0 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidTransitionError);
    expect(caught).toMatchObject({
      name: "InvalidTransitionError",
      code: "SAGA_INVALID_TRANSITION",
      retryable: false,
    });
  });

  it("replay stops at the first invalid event", () => {
    expect(() => replay([startedEvent(), startedEvent(T0 + 1)])).toThrow(InvalidTransitionError);
    expect(replay([])).toBeNull();
  });
});

describe("applyEvent never mutates its input", () => {
  // A history that passes through every event type, so each transition is applied to a frozen state.
  const history: SagaEvent[] = [
    startedEvent(T0, T0 + 60_000),
    { type: "StepStarted", at: T0 + 1, step: "a", attempt: 1 },
    { type: "StepFailed", at: T0 + 2, step: "a", attempt: 1, error: boom(), retryAt: T0 + 3 },
    { type: "StepStarted", at: T0 + 3, step: "a", attempt: 2 },
    { type: "StepCompleted", at: T0 + 4, step: "a", attempt: 2, result: { deep: { x: [1] } } },
    { type: "StepSkipped", at: T0 + 5, step: "b" },
    { type: "StepStarted", at: T0 + 6, step: "c", attempt: 1 },
    { type: "StepAborted", at: T0 + 7, step: "c", attempt: 1, error: boom() },
    { type: "SagaFailed", at: T0 + 8, phase: "forward", error: boom() },
    { type: "SagaRetried", at: T0 + 9, deadlineAt: null },
    { type: "StepStarted", at: T0 + 10, step: "c", attempt: 2 },
    { type: "StepFailed", at: T0 + 11, step: "c", attempt: 2, error: boom(), retryAt: null },
    { type: "SagaCompensationStarted", at: T0 + 12, reason: "step_failed", error: boom() },
    { type: "StepCompensationStarted", at: T0 + 13, step: "a", attempt: 1 },
    {
      type: "StepCompensationFailed",
      at: T0 + 14,
      step: "a",
      attempt: 1,
      error: boom(),
      retryAt: null,
    },
    { type: "SagaFailed", at: T0 + 15, phase: "compensation", error: boom() },
    { type: "SagaRetried", at: T0 + 16, deadlineAt: null },
    { type: "StepCompensationStarted", at: T0 + 17, step: "a", attempt: 2 },
    { type: "StepCompensated", at: T0 + 18, step: "a", attempt: 2 },
    { type: "SagaCompensated", at: T0 + 19 },
  ];

  const happy: SagaEvent[] = [
    startedEvent(),
    { type: "StepStarted", at: T0 + 1, step: "a", attempt: 1 },
    { type: "StepCompleted", at: T0 + 2, step: "a", attempt: 1, result: [1, 2] },
    { type: "SagaCompleted", at: T0 + 3 },
  ];
  const cases = [history, happy].flatMap((events) =>
    events.slice(1).map((e, i) => [e.type, i + 1, events] as const),
  );

  it("covers every event type", () => {
    expect(new Set([startedEvent().type, ...cases.map(([type]) => type)]).size).toBe(14);
    expect(replay(history)?.status).toBe("compensated");
    expect(replay(happy)?.status).toBe("completed");
  });

  it.each(cases)("%s (event %i) leaves the previous state untouched", (_, index, events) => {
    const before = replay(events.slice(0, index))!;
    const snapshot = structuredClone(before);
    const frozen: SagaState = deepFreeze(before);
    const after = applyEvent(frozen, events[index]!);
    expect(frozen).toStrictEqual(snapshot);
    expect(after).not.toBe(frozen);
    expect(after.seq).toBe(snapshot.seq + 1);
  });

  it("the frozen pending defaults are never written through", () => {
    const state = stateAfter([{ type: "StepStarted", step: "a", attempt: 1 }]);
    expect(state.steps.a).not.toBe(PENDING_STEP);
    expect(Object.isFrozen(PENDING_STEP)).toBe(true);
    expect(PENDING_STEP.startedAt).toBeNull();
  });
});
