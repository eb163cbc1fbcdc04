import { attemptStartEvents, decide, type Phase, type Signal } from "../core/decide.js";
import { ErrorCodes, SagaError, toErrorInfo, type ErrorInfo } from "../core/errors.js";
import type { Json } from "../core/json.js";
import type { EventDraft, SagaEvent } from "../core/events.js";
import { outcomeEvent, type AttemptOutcome } from "../core/outcome.js";
import { stepsByName, type StepPlan } from "../core/plan.js";
import { applyEvent } from "../core/reducer.js";
import { PENDING_STEP, stepResults, type SagaState } from "../core/state.js";
import { LazyAbort, runAttempt } from "./attempt.js";
import {
  CheckpointWriter,
  Flush,
  type CheckpointHost,
  type FlushMode,
} from "./checkpoint-writer.js";
import type { ChildSagaPort } from "./child-saga-port.js";
import { deadlineBase, type Clock } from "./clock.js";
import type { SagaDefinition, StepContext } from "./definition.js";
import { Suspend } from "./directives.js";
import { setLongTimeout } from "./long-timer.js";
import { stepDirectives } from "./step-directives.js";
import type { CreateResult, LeaseRef, StoredSignal } from "./store-port.js";

/** What a runner needs from the process that hosts it. */
export interface RunnerHost extends CheckpointHost {
  readonly clock: Clock;
  readonly random: () => number;
  /** Largest step result in bytes (default `Limits.DEFAULT_MAX_STEP_RESULT_BYTES`). */
  readonly maxStepResultBytes?: number;
  /** True once the host is shutting down: start nothing new, hand the saga back. */
  draining(): boolean;
  /** Starts and undoes the child sagas of `saga` steps. */
  readonly children: ChildSagaPort;
  /** Unconsumed signals of a saga's suspended steps. */
  loadSignals(sagaId: string): Promise<StoredSignal[]>;
}

/** Where a run starts: a claimed saga, or a new one whose start is not yet written. */
export interface RunnerStart {
  state: SagaState;
  /** Events already applied to `state` but not yet written (a new saga's SagaStarted). */
  unwritten?: SagaEvent[];
  /** Null for a new saga (its first write creates it). */
  lease: LeaseRef | null;
  cancelRequested?: boolean;
  /** An operator's event recorded before anything else (SagaRetried, a requested compensation). */
  before?: EventDraft;
}

/** How a run of a runner ended. */
export type RunEnd =
  /** The saga ended, or waits for an operator (`failed`). */
  | { kind: "idle"; state: SagaState }
  /** Waiting for a durable timer (`wakeAt`) and/or a signal: the lease is released. */
  | { kind: "sleeping"; wakeAt: number | null; state: SagaState }
  /** Given back (shutdown); any worker may pick it up. */
  | { kind: "released" }
  /** The lease was lost or the write refused: another worker owns the saga now. */
  | { kind: "lost" }
  /** A start whose idempotency key was taken: nothing was written. */
  | { kind: "duplicate" };

interface InFlight {
  phase: Phase;
  attempt: number;
  stop: (reason: unknown) => void;
  /** Set when the engine decided to abort the attempt: its outcome is recorded as aborted. */
  abortError: ErrorInfo | null;
}

interface Settled {
  step: string;
  entry: InFlight;
  outcome: AttemptOutcome;
}

/**
 * Runs one saga while this process holds its lease: decide, record, execute, repeat. The rules are
 * core's (`decide`, `attemptStartEvents`, `outcomeEvent`); the runner applies their events, runs
 * the attempts, and hands each checkpoint to its `CheckpointWriter`. Nothing runs before the
 * write that announces it.
 */
export class SagaRunner {
  readonly sagaId: string;
  private state: SagaState;
  private readonly writer: CheckpointWriter;
  private readonly steps: ReadonlyMap<string, StepPlan>;
  private cancelRequested: boolean;
  private lost = false;
  private halted = false;
  private readonly inFlight = new Map<string, InFlight>();
  private settled: Settled[] = [];
  /** Ends the wait for the next thing to happen (an outcome, a timer, a cancel, a loss). */
  private endWait: (() => void) | null = null;
  /** `when` results (or what it threw), evaluated once per run. */
  private readonly conditions = new Map<string, { run: boolean } | { threw: unknown }>();
  private readonly signals = new Map<string, Signal>();
  /** `evaluate` bound once, for `decide` (not a new closure per turn of the loop). */
  private readonly evaluateWhen = (step: string): boolean => this.evaluate(step);

  constructor(
    private readonly host: RunnerHost,
    private readonly definition: SagaDefinition<unknown>,
    start: RunnerStart,
  ) {
    this.sagaId = start.state.id;
    this.state = start.state;
    this.steps = stepsByName(definition.plan);
    this.cancelRequested = start.cancelRequested ?? false;
    this.writer = new CheckpointWriter(host, this.sagaId, start, () => this.lost || this.halted);
    if (start.before) this.append(start.before);
  }

  /** For a new saga: settles at its first write (the start is durable, or a duplicate). */
  get created(): Promise<CreateResult> {
    return this.writer.created;
  }

  /** For a new saga once `created` settled: the state that first write stored. */
  get createdState(): SagaState | null {
    return this.writer.createdState;
  }

  /** Settles at the first write of this run: true when it was written, false when refused. */
  get written(): Promise<boolean> {
    return this.writer.written;
  }

  get currentState(): SagaState {
    return this.state;
  }

  get currentLease(): LeaseRef | null {
    return this.writer.currentLease;
  }

  /** A cancel was requested (locally, or seen in the store). */
  requestCancel(): void {
    this.cancelRequested = true;
    this.nudge();
  }

  /** The lease is gone: stop at once, write nothing more. */
  leaseLost(): void {
    this.lost = true;
    this.nudge();
  }

  /** Shutdown after the grace period: abandon attempts in flight (they will be re-run elsewhere). */
  halt(): void {
    this.halted = true;
    this.nudge();
  }

  async run(): Promise<RunEnd> {
    try {
      if (Object.values(this.state.steps).some((s) => s.status === "suspended")) {
        for (const signal of await this.host.loadSignals(this.sagaId)) {
          if (!this.signals.has(signal.step)) this.signals.set(signal.step, signal);
        }
      }
      return await this.loop();
    } catch (error) {
      this.host.logger.error(
        { sagaId: this.sagaId, err: toErrorInfo(error) },
        "saga runner stopped on an error",
      );
      this.writer.fail(error);
      this.abandonInFlight();
      return { kind: "lost" };
    }
  }

  private async loop(): Promise<RunEnd> {
    for (;;) {
      if (this.lost || this.halted) {
        this.writer.fail();
        this.abandonInFlight();
        return { kind: this.lost ? "lost" : "released" };
      }
      this.recordSettled();
      const decision = decide(this.definition.plan, this.state, {
        now: this.host.clock.now(),
        inFlight: this.inFlight,
        cancelRequested: this.cancelRequested,
        evaluate: this.evaluateWhen,
        signals: this.signals,
      });
      switch (decision.type) {
        case "append":
          this.append(decision.event);
          continue;
        case "start": {
          if (this.host.draining() && !this.writer.creating) {
            if (this.inFlight.size > 0) {
              await this.nextThing(null);
              continue;
            }
            return (await this.flush(Flush.release)) ? { kind: "released" } : this.lostEnd();
          }
          for (const start of decision.attempts)
            for (const event of attemptStartEvents(decision.phase, start)) this.append(event);
          if (!(await this.flush(Flush.hold))) return this.lostEnd();
          for (const start of decision.attempts)
            if (!start.failWith) this.launch(decision.phase, start.step, start.attempt);
          continue;
        }
        case "abort":
          for (const entry of this.inFlight.values()) {
            if (entry.abortError === null) {
              entry.abortError = decision.error;
              entry.stop(new Error(decision.error.message));
            }
          }
          await this.nextThing(null);
          continue;
        case "await":
          if (!(await this.flush(Flush.hold))) return this.lostEnd();
          await this.nextThing(decision.wakeAt);
          continue;
        case "sleep":
          if (!(await this.flush(Flush.sleep(decision.wakeAt)))) return this.lostEnd();
          return { kind: "sleeping", wakeAt: decision.wakeAt, state: this.state };
        case "idle":
          if (!(await this.flush(Flush.release))) return this.lostEnd();
          return { kind: "idle", state: this.state };
      }
    }
  }

  private lostEnd(): RunEnd {
    this.abandonInFlight();
    return { kind: this.writer.creating ? "duplicate" : "lost" };
  }

  private append(draft: EventDraft, at: number = this.host.clock.now()): void {
    const event: SagaEvent = { ...draft, at };
    this.state = applyEvent(this.state, event);
    this.writer.append(event);
  }

  /** Writes what is pending. False: the saga is no longer ours (lease lost, or a duplicate start). */
  private async flush(mode: FlushMode): Promise<boolean> {
    if (this.lost) {
      this.writer.fail();
      return false;
    }
    const result = await this.writer.flush(this.state, mode);
    if (!result.ok && !this.writer.creating) this.lost = true;
    if (result.cancelRequested) this.cancelRequested = true;
    return result.ok;
  }

  /** A step's `when`, evaluated once per run (decide may ask again after a sibling is skipped). */
  private evaluate(step: string): boolean {
    let known = this.conditions.get(step);
    if (!known) {
      const when = this.definition.steps.get(step)?.when;
      try {
        known = {
          run: when ? Boolean(when(this.context(step, 0, new LazyAbort(), "forward"))) : true,
        };
      } catch (thrown) {
        known = { threw: thrown };
      }
      this.conditions.set(step, known);
    }
    if ("threw" in known) throw known.threw;
    return known.run;
  }

  private context(
    step: string,
    attempt: number,
    abort: LazyAbort,
    phase: Phase,
  ): StepContext<unknown> {
    const state = this.state;
    let results: Record<string, Json> | undefined;
    return {
      sagaId: state.id,
      sagaName: state.name,
      tenantId: state.tenantId,
      input: state.input,
      // The results as the attempt starts, built when a step first reads them.
      get results() {
        return (results ??= stepResults(state));
      },
      step,
      attempt,
      idempotencyKey:
        phase === "forward" ? `${state.id}:${step}` : `${state.id}:${step}:compensate`,
      get signal() {
        return abort.signal;
      },
      correlationId: state.correlationId,
      // A sleep or a wait's timeout counts from the latest the time may be: it never ends early.
      ...stepDirectives(state.id, step, () => deadlineBase(this.host.clock)),
      startChild: async (type, input, options) => {
        const childId = await this.host.children.start(
          { sagaId: this.state.id, step },
          this.state,
          type,
          input,
          options?.version,
        );
        return new Suspend(null, null, childId);
      },
      compensateChild: (sagaId) =>
        this.host.children.compensate(this.state.tenantId, sagaId, abort.signal),
    };
  }

  private launch(phase: Phase, step: string, attempt: number): void {
    const definition = this.definition.steps.get(step);
    const plan = this.stepPlan(step);
    const fn = phase === "forward" ? definition?.action : definition?.compensate;
    const attemptRun = runAttempt(
      (abort) => {
        if (!fn)
          throw new Error(`step ${step} has no ${phase === "forward" ? "action" : "compensation"}`);
        const fault = this.state.fault;
        if (fault?.step === step && fault.attempt === attempt && fault.phase === phase) {
          const { code, message, retryable } = fault;
          throw new SagaError(code, message, { retryable, details: { injected: true } });
        }
        return fn(this.context(step, attempt, abort, phase), {
          get signal() {
            return abort.signal;
          },
        });
      },
      {
        timeoutMs: phase === "forward" ? plan.timeoutMs : plan.compensationTimeoutMs,
        timeoutCode:
          phase === "forward" ? ErrorCodes.SAGA_STEP_TIMEOUT : ErrorCodes.SAGA_COMPENSATION_TIMEOUT,
        ...(this.host.maxStepResultBytes !== undefined
          ? { maxResultBytes: this.host.maxStepResultBytes }
          : {}),
      },
    );
    const entry: InFlight = { phase, attempt, stop: attemptRun.stop, abortError: null };
    this.inFlight.set(step, entry);
    void attemptRun.outcome.then((outcome) => {
      this.settled.push({ step, entry, outcome });
      this.nudge();
    });
  }

  private stepPlan(step: string): StepPlan {
    const plan = this.steps.get(step);
    if (!plan)
      throw new Error(
        `step ${step} is not in saga ${this.definition.name} v${this.definition.version}`,
      );
    return plan;
  }

  /** Turns finished attempts into events (not yet written: the next flush carries them). */
  private recordSettled(): void {
    const settled = this.settled;
    this.settled = [];
    for (const { step, entry, outcome } of settled) {
      if (this.inFlight.get(step) !== entry) continue;
      this.inFlight.delete(step);
      const now = this.host.clock.now();
      const event = outcomeEvent({
        phase: entry.phase,
        plan: this.stepPlan(step),
        state: this.state.steps[step] ?? PENDING_STEP,
        attempt: entry.attempt,
        outcome,
        abortError: entry.abortError,
        now,
        random: outcome.kind === "error" ? this.host.random() : 0,
      });
      if (event) this.append(event, now);
    }
  }

  /** Waits for an attempt's outcome, `wakeAt`, a cancel, a lost lease or a halt. */
  private nextThing(wakeAt: number | null): Promise<void> {
    if (this.settled.length > 0 || this.lost || this.halted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // Chained: a deadline or retry more than 2^31 ms away must not wake the runner at once.
      const timer =
        wakeAt === null ? null : setLongTimeout(() => this.nudge(), wakeAt - this.host.clock.now());
      this.endWait = () => {
        timer?.clear();
        this.endWait = null;
        resolve();
      };
    });
  }

  /** Something happened: the runner looks again (see "nudge" in core/GLOSSARY.md). */
  private nudge(): void {
    this.endWait?.();
  }

  private abandonInFlight(): void {
    for (const entry of this.inFlight.values())
      entry.stop(new Error("the worker gave up this saga"));
    this.inFlight.clear();
  }
}
