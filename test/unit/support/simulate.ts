/**
 * A pure stand-in for the engine's loop (src/engine/saga-runner.ts): decide, then append / start /
 * abort / await / sleep / idle, with a fake clock and a scripted "world" that says how every
 * attempt ends. No timers, no I/O: the same world always gives the same history.
 */
import { attemptStartEvents, decide, type Decision, type Phase } from "../../../src/core/decide.js";
import { TerminalError, toErrorInfo, type ErrorInfo } from "../../../src/core/errors.js";
import type { EventDraft, SagaEvent } from "../../../src/core/events.js";
import { outcomeEvent, type AttemptOutcome } from "../../../src/core/outcome.js";
import { planSteps, type SagaPlan, type StepPlan } from "../../../src/core/plan.js";
import { applyEvent } from "../../../src/core/reducer.js";
import { PENDING_STEP, type SagaState } from "../../../src/core/state.js";

export const SIM_START = 1_700_000_000_000;

export type Outcome = "ok" | "retryable" | "terminal";
export type OperatorAction = "retry" | "cancel";

export interface World {
  /** How attempt n of a step's action ends (index n - 1); past the end: "ok". */
  forward: Record<string, Outcome[]>;
  /** How attempt n of a step's compensation ends; past the end: "ok". */
  compensation: Record<string, Outcome[]>;
  /** The `when` of conditional steps (`throws`: it throws); missing: true. */
  conditions: Record<string, boolean | "throws">;
  /** A cancel is requested once the stream holds this many events. */
  cancelAfterEvents: number | null;
  /** The worker dies (attempts in flight are forgotten) once the stream holds this many events. */
  crashAfterEvents: number[];
  /** What an operator does, in order, each time the saga stops in `failed`. */
  operator: OperatorAction[];
  /** Scheduling choices (which attempt settles first, durations, jitter, races); past the end: 0. */
  tape: number[];
}

export interface SimResult {
  events: SagaEvent[];
  /** The state built event by event while the simulation ran. */
  state: SagaState;
  /** Every intermediate state, `states[i]` after `events[i]`. */
  states: SagaState[];
  decisions: { now: number; decision: Decision }[];
  /** Steps whose `when` was evaluated, in call order. */
  evaluations: string[];
  iterations: number;
  /** False when the loop hit `maxIterations` (or went idle while still running). */
  terminated: boolean;
}

interface InFlight {
  phase: Phase;
  attempt: number;
  abortError: ErrorInfo | null;
}

export function emptyWorld(overrides: Partial<World> = {}): World {
  return {
    forward: {},
    compensation: {},
    conditions: {},
    cancelAfterEvents: null,
    crashAfterEvents: [],
    operator: [],
    tape: [],
    ...overrides,
  };
}

export function simulate(plan: SagaPlan, world: World, maxIterations = 5_000): SimResult {
  const plans = new Map<string, StepPlan>(planSteps(plan).map((s) => [s.name, s]));
  const stepPlan = (name: string): StepPlan => {
    const found = plans.get(name);
    if (!found) throw new Error(`simulator: unknown step ${name}`);
    return found;
  };
  let tapeIndex = 0;
  const choose = (n: number): number => {
    const value = world.tape[tapeIndex++] ?? 0;
    return n <= 1 ? 0 : value % n;
  };

  let now = SIM_START;
  const events: SagaEvent[] = [];
  const states: SagaState[] = [];
  const decisions: SimResult["decisions"] = [];
  const evaluations: string[] = [];
  let state: SagaState | null = null;
  const append = (draft: EventDraft | SagaEvent): SagaState => {
    const event = { ...draft, at: now };
    state = applyEvent(state, event);
    events.push(event);
    states.push(state);
    return state;
  };

  let current = append({
    type: "SagaStarted",
    sagaId: "sim-saga",
    tenantId: "sim-tenant",
    name: plan.name,
    version: plan.version,
    input: { orderId: "o-1" },
    idempotencyKey: null,
    deadlineAt: plan.timeoutMs === null ? null : now + plan.timeoutMs,
  });

  const inFlight = new Map<string, InFlight>();
  let cancelRequested = false;
  const crashes = [...world.crashAfterEvents].sort((a, b) => a - b);
  const operator = [...world.operator];

  const outcomeOf = (phase: Phase, step: string, attempt: number): Outcome =>
    (phase === "forward" ? world.forward : world.compensation)[step]?.[attempt - 1] ?? "ok";

  /** One attempt in flight finishes; which one is the tape's choice. */
  const settleOne = (): void => {
    const entries = [...inFlight.entries()];
    const picked = entries[choose(entries.length)];
    if (!picked) throw new Error("simulator: nothing in flight to settle");
    const [step, entry] = picked;
    inFlight.delete(step);
    now += 10 + choose(40);
    // An aborted attempt usually stops as aborted; sometimes it had already finished (a race).
    let outcome: AttemptOutcome;
    let random = 0;
    if (entry.abortError !== null && entry.phase === "forward" && choose(4) !== 3) {
      outcome = { kind: "aborted", reason: entry.abortError };
    } else {
      const scripted = outcomeOf(entry.phase, step, entry.attempt);
      const what = entry.phase === "forward" ? step : `${step} (compensation)`;
      if (scripted === "ok") {
        outcome = { kind: "ok", result: { step, attempt: entry.attempt } };
      } else {
        const error = toErrorInfo(
          scripted === "retryable"
            ? new Error(`${what} attempt ${entry.attempt}: service unavailable`)
            : new TerminalError(`${what} attempt ${entry.attempt}: declined`, {
                code: "DECLINED",
              }),
        );
        outcome = { kind: "error", error };
        random = choose(1000) / 1000;
      }
    }
    // The engine's own mapping from outcome to event (src/core/outcome.ts).
    const event = outcomeEvent({
      phase: entry.phase,
      plan: stepPlan(step),
      state: current.steps[step] ?? PENDING_STEP,
      attempt: entry.attempt,
      outcome,
      abortError: entry.abortError,
      now,
      random,
    });
    if (event) current = append(event);
  };

  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    if (world.cancelAfterEvents !== null && events.length >= world.cancelAfterEvents) {
      cancelRequested = true;
    }
    while (crashes.length > 0 && events.length >= crashes[0]!) {
      crashes.shift();
      inFlight.clear();
    }
    const decision = decide(plan, current, {
      now,
      inFlight: new Set(inFlight.keys()),
      cancelRequested,
      evaluate: (step) => {
        evaluations.push(step);
        const condition = world.conditions[step] ?? true;
        if (condition === "throws") throw new Error(`the when of ${step} threw`);
        return condition;
      },
    });
    decisions.push({ now, decision });
    switch (decision.type) {
      case "append":
        current = append(decision.event);
        continue;
      case "start":
        for (const start of decision.attempts) {
          for (const event of attemptStartEvents(decision.phase, start)) current = append(event);
          if (!start.failWith)
            inFlight.set(start.step, {
              phase: decision.phase,
              attempt: start.attempt,
              abortError: null,
            });
        }
        continue;
      case "abort":
        for (const entry of inFlight.values()) entry.abortError ??= decision.error;
        settleOne();
        continue;
      case "await":
        // The wake-up timer may fire before any attempt finishes.
        if (decision.wakeAt !== null && choose(3) === 2) now = Math.max(now, decision.wakeAt);
        else settleOne();
        continue;
      case "sleep":
        // Only suspended steps sleep without a timer, and this world never suspends one.
        if (decision.wakeAt === null)
          throw new Error("a sleep without a timer in a world without suspended steps");
        now = Math.max(now, decision.wakeAt);
        continue;
      case "idle": {
        if (current.status !== "failed") break;
        const action = operator.shift();
        if (action === undefined) break;
        if (action === "cancel") cancelRequested = true;
        else {
          current = append({
            type: "SagaRetried",
            deadlineAt: plan.timeoutMs === null ? null : now + plan.timeoutMs,
          });
        }
        continue;
      }
    }
    break;
  }
  const terminated = iterations < maxIterations && current.status !== "running";
  return { events, state: current, states, decisions, evaluations, iterations, terminated };
}
