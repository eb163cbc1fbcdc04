import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decide } from "../../src/core/decide.js";
import { ErrorCodes } from "../../src/core/errors.js";
import type { SagaEvent } from "../../src/core/events.js";
import {
  DEFAULT_CRASH_LOOP_LIMIT,
  planSteps,
  validatePlan,
  type NodePlan,
  type SagaPlan,
} from "../../src/core/plan.js";
import { applyEvent, replay } from "../../src/core/reducer.js";
import type { SagaState } from "../../src/core/state.js";
import {
  packState,
  stateJson,
  unpackState,
  type StoredState,
} from "../../src/store/state-codec.js";
import { policy } from "./support/builders.js";
import { simulate, type Outcome, type SimResult, type World } from "./support/simulate.js";

const NUM_RUNS = 300;
const MAX_STEPS = 15; // 5 nodes of at most 3 branches

/** The value in one case out of four, null otherwise. */
const sometimes = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

const stepShape = fc.record({
  compensable: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)),
  conditional: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, fc.constant(true)),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
  compensationMaxAttempts: fc.integer({ min: 1, max: 3 }),
  initialDelayMs: fc.integer({ min: 0, max: 100 }),
  backoff: fc.integer({ min: 1, max: 3 }),
  extraMaxDelayMs: fc.integer({ min: 0, max: 300 }),
  jitter: fc.double({ min: 0, max: 1, noNaN: true }),
});
type StepShape = typeof stepShape extends fc.Arbitrary<infer T> ? T : never;

const nodeShape = fc.oneof(
  { weight: 2, arbitrary: stepShape.map((s) => [s]) },
  { weight: 1, arbitrary: fc.array(stepShape, { minLength: 2, maxLength: 3 }) },
);

const planArb: fc.Arbitrary<SagaPlan> = fc
  .record({
    nodes: fc.array(nodeShape, { minLength: 1, maxLength: 5 }),
    onFailure: fc.constantFrom("compensate" as const, "pause" as const),
    timeoutMs: sometimes(fc.integer({ min: 30, max: 2_000 })),
  })
  .map(({ nodes, onFailure, timeoutMs }) => {
    let index = 0;
    const toStep = (s: StepShape) => {
      const retry = policy({
        maxAttempts: s.maxAttempts,
        initialDelayMs: s.initialDelayMs,
        backoff: s.backoff,
        maxDelayMs: s.initialDelayMs + s.extraMaxDelayMs,
        jitter: s.jitter,
      });
      return {
        name: `s${index++}`,
        timeoutMs: null,
        retry,
        compensable: s.compensable,
        compensationTimeoutMs: null,
        compensationRetry: { ...retry, maxAttempts: s.compensationMaxAttempts },
        conditional: s.conditional,
      };
    };
    const planNodes = nodes.map((shapes, i): NodePlan =>
      shapes.length === 1
        ? { kind: "step", step: toStep(shapes[0]!) }
        : { kind: "parallel", name: `g${i}`, branches: shapes.map(toStep) },
    );
    return { name: "prop-saga", version: 1, timeoutMs, onFailure, nodes: planNodes };
  });

const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  { weight: 6, arbitrary: fc.constant("ok" as const) },
  { weight: 2, arbitrary: fc.constant("retryable" as const) },
  { weight: 1, arbitrary: fc.constant("terminal" as const) },
);
const perStep = <T>(arb: fc.Arbitrary<T>) =>
  fc
    .array(arb, { minLength: MAX_STEPS, maxLength: MAX_STEPS })
    .map((values) => Object.fromEntries(values.map((v, i) => [`s${i}`, v])));

const worldArb: fc.Arbitrary<World> = fc.record({
  forward: perStep(fc.array(outcome, { maxLength: 5 })),
  compensation: perStep(fc.array(outcome, { maxLength: 4 })),
  conditions: perStep(fc.oneof(fc.boolean(), fc.boolean(), fc.constant("throws" as const))),
  cancelAfterEvents: sometimes(fc.integer({ min: 1, max: 40 })),
  crashAfterEvents: fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 2 }),
  operator: fc.array(fc.constantFrom("retry" as const, "cancel" as const), { maxLength: 3 }),
  tape: fc.array(fc.nat({ max: 999 }), { maxLength: 300 }),
});

const scenario = fc.record({ plan: planArb, world: worldArb });

/** Runs the property over simulated runs; the scenario is in the counterexample when it fails. */
function forAllRuns(check: (run: SimResult, plan: SagaPlan, world: World) => void): void {
  fc.assert(
    fc.property(scenario, ({ plan, world }) => {
      check(simulate(plan, world, 2_000), plan, world);
    }),
    { numRuns: NUM_RUNS },
  );
}

const ofType = <T extends SagaEvent["type"]>(events: SagaEvent[], type: T) =>
  events.filter((e): e is Extract<SagaEvent, { type: T }> => e.type === type);

describe("simulated runs (random plans and worlds)", () => {
  it("the generated plans are valid", () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        expect(validatePlan(plan)).toEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("terminate in a bounded number of steps, without spinning", () => {
    forAllRuns((run, plan, world) => {
      expect(run.terminated).toBe(true);
      expect(["completed", "compensated", "failed"]).toContain(run.state.status);
      // Every loop turn appends an event, except a timer or sleep (followed by a start or an
      // abort) and an operator's cancel.
      expect(run.iterations).toBeLessThanOrEqual(2 * run.events.length + world.operator.length + 1);
      // Each attempt is at most two events (start, outcome); each operator retry gives every step
      // a fresh budget at most.
      const budgets = 1 + world.operator.length;
      const perStep = planSteps(plan).reduce(
        (sum, s) => sum + 2 * budgets * (s.retry.maxAttempts + s.compensationRetry.maxAttempts) + 1,
        0,
      );
      // A crash loses at most one attempt per branch in flight (3), each a lone StepStarted.
      const lost = 3 * world.crashAfterEvents.length;
      expect(run.events.length).toBeLessThanOrEqual(perStep + 2 * world.operator.length + 4 + lost);
      const last = decide(plan, run.state, {
        now: Number.MAX_SAFE_INTEGER,
        inFlight: new Set(),
        cancelRequested: false,
        evaluate: () => true,
      });
      expect(last).toEqual({ type: "idle" });
    });
  });

  it("never sleep or wait for a time already past", () => {
    forAllRuns((run) => {
      for (const { now, decision } of run.decisions) {
        if (decision.type === "sleep") expect(decision.wakeAt).toBeGreaterThan(now);
        if (decision.type === "await" && decision.wakeAt !== null)
          expect(decision.wakeAt).toBeGreaterThan(now);
      }
    });
  });

  it("replaying all events gives the state built incrementally; seq counts the events", () => {
    forAllRuns((run) => {
      expect(replay(run.events)).toStrictEqual(run.state);
      expect(run.state.seq).toBe(run.events.length);
      run.states.forEach((s, i) => expect(s.seq).toBe(i + 1));
    });
  });

  it("a prefix replayed, stored as JSON, then the rest applied equals the full replay", () => {
    fc.assert(
      fc.property(scenario, fc.nat(), ({ plan, world }, cutSeed) => {
        const run = simulate(plan, world, 2_000);
        const cut = 1 + (cutSeed % run.events.length);
        const stored = JSON.parse(JSON.stringify(replay(run.events.slice(0, cut)))) as SagaState;
        const resumed = run.events.slice(cut).reduce<SagaState>(applyEvent, stored);
        expect(resumed).toStrictEqual(run.state);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("every state survives a JSON round trip unchanged (it is stored as JSONB)", () => {
    forAllRuns((run) => {
      for (const s of run.states) expect(JSON.parse(JSON.stringify(s))).toStrictEqual(s);
    });
  });

  it("every state survives the store's compact form (defaults left out) unchanged", () => {
    forAllRuns((run) => {
      for (const s of run.states) {
        const stored = JSON.parse(stateJson(s)) as StoredState;
        expect(stored).toStrictEqual(packState(s));
        expect(unpackState(stored)).toStrictEqual(s);
        // A full state, as rows written before the compact form hold, reads back the same.
        expect(unpackState(JSON.parse(JSON.stringify(s)) as StoredState)).toStrictEqual(s);
        expect(stateJson(s).length).toBeLessThanOrEqual(JSON.stringify(s).length);
      }
    });
  });

  it("fail a step whose `when` throws as it starts, for good, and never run its first attempt", () => {
    forAllRuns((run, plan, world) => {
      for (const step of planSteps(plan)) {
        if (!step.conditional || world.conditions[step.name] !== "throws") continue;
        const i = run.events.findIndex(
          (e) => e.type === "StepStarted" && e.step === step.name && e.attempt === 1,
        );
        if (i < 0) continue; // never reached (an earlier failure, a cancel, a deadline)
        expect(run.events[i + 1]).toMatchObject({
          type: "StepFailed",
          step: step.name,
          attempt: 1,
          error: { retryable: false, message: `the when of ${step.name} threw` },
          retryAt: null,
        });
        // Recorded as failed at once: no outcome of that attempt ever follows.
        expect(
          run.events.filter(
            (e) =>
              (e.type === "StepCompleted" || e.type === "StepAborted") &&
              e.step === step.name &&
              e.attempt === 1,
          ),
        ).toEqual([]);
      }
    });
  });

  it("end in completed iff every non-skipped step completed (and no cancel or deadline)", () => {
    forAllRuns((run, plan) => {
      const { state } = run;
      const allDone = planSteps(plan).every((s) =>
        ["completed", "skipped"].includes(state.steps[s.name]?.status ?? "pending"),
      );
      expect(state.status === "completed").toBe(state.reason === null && allDone);
      if (state.status === "completed") {
        expect(state.completionOrder.length).toBe(
          planSteps(plan).filter((s) => state.steps[s.name]?.status === "completed").length,
        );
      }
    });
  });

  it("compensate exactly the completed compensable steps, once each, in reverse completion order", () => {
    forAllRuns((run, plan) => {
      const { state, events } = run;
      const compensable = new Set(
        planSteps(plan)
          .filter((s) => s.compensable)
          .map((s) => s.name),
      );
      expect(new Set(state.completionOrder).size).toBe(state.completionOrder.length);
      const expected = [...state.completionOrder].reverse().filter((n) => compensable.has(n));
      const compensated = ofType(events, "StepCompensated").map((e) => e.step);
      for (const e of ofType(events, "StepCompensationStarted")) {
        expect(compensable.has(e.step)).toBe(true);
        expect(state.completionOrder).toContain(e.step);
      }
      if (state.status === "compensated") {
        expect(compensated).toEqual(expected);
        for (const name of expected) expect(state.steps[name]?.status).toBe("compensated");
      } else if (state.status === "failed" && state.failedPhase === "compensation") {
        expect(compensated).toEqual(expected.slice(0, compensated.length));
        expect(compensated.length).toBeLessThan(expected.length);
      } else {
        expect(compensated).toEqual([]);
      }
    });
  });

  it("start no step after SagaCompensationStarted, and let every forward attempt settle first", () => {
    forAllRuns((run) => {
      const from = run.events.findIndex((e) => e.type === "SagaCompensationStarted");
      if (from === -1) return;
      const after = new Set(run.events.slice(from).map((e) => e.type));
      for (const forward of [
        "StepStarted",
        "StepSkipped",
        "StepCompleted",
        "StepFailed",
        "StepAborted",
        "SagaCompleted",
      ] as const) {
        expect(after.has(forward)).toBe(false);
      }
    });
  });

  it("number attempts 1, 2, 3… and keep each within its retry budget and retry time", () => {
    forAllRuns((run, plan) => {
      const plans = new Map(planSteps(plan).map((s) => [s.name, s]));
      const last = new Map<string, number>();
      run.events.forEach((event, i) => {
        const before = i === 0 ? null : run.states[i - 1]!;
        const after = run.states[i]!;
        if (event.type === "StepStarted" || event.type === "StepCompensationStarted") {
          const key = `${event.type}:${event.step}`;
          expect(event.attempt).toBe((last.get(key) ?? 0) + 1);
          last.set(key, event.attempt);
          const s = before?.steps[event.step];
          if (event.type === "StepStarted" && s?.status === "failed") {
            expect(s.retryAt).not.toBeNull();
            expect(event.at).toBeGreaterThanOrEqual(s.retryAt!);
          }
          if (event.type === "StepCompensationStarted" && s?.status === "compensation_failed") {
            expect(s.compensationRetryAt).not.toBeNull();
            expect(event.at).toBeGreaterThanOrEqual(s.compensationRetryAt!);
          }
        }
        for (const [name, s] of Object.entries(after.steps)) {
          const p = plans.get(name)!;
          // Lost attempts (a crash of ours) are outside the budget; each run has its own crashes.
          expect(s.attempts - s.attemptBase - s.lostAttempts).toBeLessThanOrEqual(
            p.retry.maxAttempts,
          );
          expect(
            s.compensationAttempts - s.compensationAttemptBase - s.compensationLostAttempts,
          ).toBeLessThanOrEqual(p.compensationRetry.maxAttempts);
          expect(s.lostInARow).toBeLessThan(DEFAULT_CRASH_LOOP_LIMIT);
        }
      });
    });
  });

  it("record the failing step's own error as the saga's reason to stop, not a sibling's abort", () => {
    forAllRuns((run) => {
      const stops = [
        ...ofType(run.events, "SagaCompensationStarted").filter((e) => e.reason === "step_failed"),
        ...ofType(run.events, "SagaFailed").filter((e) => e.phase === "forward"),
      ];
      for (const e of stops) expect(e.error.code).not.toBe(ErrorCodes.SIBLING_FAILED);
    });
  });
});

describe("lost attempts (the worker died): our crash never decides the outcome", () => {
  const allOk = (crashes: number[]): World => ({
    forward: {},
    compensation: {},
    conditions: {},
    cancelAfterEvents: null,
    crashAfterEvents: crashes,
    operator: [],
    tape: [],
  });

  it("a saga whose every recorded outcome is ok completes, however its crashes fall", () => {
    fc.assert(
      fc.property(
        planArb.map((p) => ({ ...p, timeoutMs: null })),
        // Fewer crashes than the crash-loop limit: none of them can be a crash loop.
        fc.array(fc.integer({ min: 1, max: 80 }), { maxLength: DEFAULT_CRASH_LOOP_LIMIT - 1 }),
        fc.array(fc.nat({ max: 999 }), { maxLength: 200 }),
        (plan, crashes, tape) => {
          const run = simulate(plan, { ...allOk(crashes), tape }, 2_000);
          expect(run.terminated).toBe(true);
          expect(run.state.status).toBe("completed");
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it("a compensation whose outcomes are ok ends compensated, however its crashes fall", () => {
    fc.assert(
      fc.property(
        planArb.map((p) => ({ ...p, timeoutMs: null, onFailure: "compensate" as const })),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.integer({ min: 1, max: 80 }), { maxLength: DEFAULT_CRASH_LOOP_LIMIT - 1 }),
        (plan, cancelAt, crashes) => {
          const run = simulate(plan, { ...allOk(crashes), cancelAfterEvents: cancelAt }, 2_000);
          expect(run.terminated).toBe(true);
          // Cancelled before the end -> compensated; the cancel may come after it completed.
          expect(["compensated", "completed"]).toContain(run.state.status);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it("a step that kills its worker every time stops with CRASH_LOOP; the saga still ends", () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        const everyEvent = Array.from({ length: 400 }, (_, i) => i + 1);
        const run = simulate(plan, { ...allOk(everyEvent) }, 5_000);
        expect(run.terminated).toBe(true);
        const stops = run.events.filter(
          (e) => e.type === "StepFailed" || e.type === "StepCompensationFailed",
        );
        expect(stops.length).toBeGreaterThan(0);
        for (const e of stops) {
          if (e.type === "StepFailed" || e.type === "StepCompensationFailed")
            expect(e.error.code).toBe(ErrorCodes.CRASH_LOOP);
        }
        for (const st of run.states)
          for (const step of Object.values(st.steps))
            expect(step.lostInARow).toBeLessThan(DEFAULT_CRASH_LOOP_LIMIT);
      }),
      { numRuns: 100 },
    );
  });
});
