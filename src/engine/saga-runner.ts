import { attemptFailed, decide, type Phase, type Signal } from "../core/decide.js";
import { ErrorCodes, SagaError, errorInfo, toErrorInfo, type ErrorInfo } from "../core/errors.js";
import type { EventDraft, ParentRef, SagaEvent } from "../core/events.js";
import { Suspend } from "./directives.js";
import { applyEvent } from "../core/reducer.js";
import { PENDING_STEP, stepResults, type SagaState } from "../core/state.js";
import { LazyAbort, runAttempt, type AttemptOutcome } from "./attempt.js";
import type { Clock } from "./clock.js";
import type { SagaDefinition, StepContext } from "./definition.js";
import type { Logger } from "./logger.js";
import { setLongTimeout } from "./long-timer.js";
import { stepDirectives } from "./step-directives.js";
import type {
  Commit,
  CommitResult,
  CreateResult,
  LeaseRef,
  NewSaga,
  ParentSignal,
  StoredSignal,
} from "./store-port.js";

/** What a runner needs from the process that hosts it. */
export interface RunnerHost {
  readonly owner: string;
  readonly leaseMs: number;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /** Largest step result in bytes (default `Limits.DEFAULT_MAX_STEP_RESULT_BYTES`). */
  readonly maxStepResultBytes?: number;
  create(saga: NewSaga): Promise<CreateResult>;
  commit(commit: Commit): Promise<CommitResult>;
  /** True once the host is shutting down: start nothing new, hand the saga back. */
  draining(): boolean;
  /** Write lifecycle events to the outbox (a bus is configured). */
  readonly outbox: boolean;
  /** Starts (or finds, idempotently) the child saga of a step; returns its id. */
  startChild(
    parent: ParentRef,
    state: SagaState,
    type: string,
    input: unknown,
    version?: number,
  ): Promise<string>;
  /** Compensates a completed child saga and waits for the outcome (throws if it fails). */
  compensateChild(tenantId: string, sagaId: string, signal: AbortSignal): Promise<void>;
  /** Unconsumed signals of a saga's suspended steps. */
  loadSignals(sagaId: string): Promise<StoredSignal[]>;
  /** Called after each durable write with the events written and the state after them. */
  committed(state: SagaState, events: readonly SagaEvent[]): void;
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

const COMMIT_RETRY_MAX_MS = 5_000;

/**
 * Runs one saga while this process holds its lease: decide, record, execute, repeat. Each
 * outcome and the start of what follows it are written in one commit; commits of many runners
 * are grouped by the host's batcher. Nothing runs before the write that announces it.
 */
export class SagaRunner {
  readonly sagaId: string;
  private state: SagaState;
  private committedSeq: number;
  private pending: SagaEvent[] = [];
  private lease: LeaseRef | null;
  private isNew: boolean;
  private cancelRequested: boolean;
  private lost = false;
  private halted = false;
  private readonly inFlight = new Map<string, InFlight>();
  private settled: Settled[] = [];
  private poke: (() => void) | null = null;
  private readonly conditionErrors = new Map<string, ErrorInfo>();
  private readonly conditions = new Map<string, boolean>();
  private readonly signals = new Map<string, Signal>();
  private resolveCreated!: (result: CreateResult) => void;
  private rejectCreated!: (error: unknown) => void;
  /** For a new saga: settles at its first write (the start is durable, or a duplicate). */
  readonly created: Promise<CreateResult>;
  /** For a new saga once `created` settled: the state that first write stored. */
  createdState: SagaState | null = null;
  private resolveWritten!: (ok: boolean) => void;
  /** Settles at the first write of this run: true when it was written, false when refused. */
  readonly written: Promise<boolean>;

  constructor(
    private readonly host: RunnerHost,
    private readonly definition: SagaDefinition<unknown>,
    init: {
      state: SagaState;
      /** Events already applied to `state` but not yet written (a new saga's SagaStarted). */
      unwritten?: SagaEvent[];
      lease: LeaseRef | null;
      cancelRequested?: boolean;
    },
  ) {
    this.sagaId = init.state.id;
    this.state = init.state;
    this.pending = [...(init.unwritten ?? [])];
    this.committedSeq = init.state.seq - this.pending.length;
    this.lease = init.lease;
    this.isNew = init.lease === null;
    this.cancelRequested = init.cancelRequested ?? false;
    this.created = new Promise<CreateResult>((resolve, reject) => {
      this.resolveCreated = resolve;
      this.rejectCreated = reject;
    });
    this.created.catch(() => undefined);
    this.written = new Promise<boolean>((resolve) => (this.resolveWritten = resolve));
  }

  get currentState(): SagaState {
    return this.state;
  }

  get currentLease(): LeaseRef | null {
    return this.isNew ? null : this.lease;
  }

  /** Records an event before the run starts (e.g. an operator's SagaRetried). */
  appendBeforeRun(event: EventDraft): void {
    this.append(event);
  }

  /** A cancel was requested (locally, or seen in the store). */
  requestCancel(): void {
    this.cancelRequested = true;
    this.wake();
  }

  /** The lease is gone: stop at once, write nothing more. */
  leaseLost(): void {
    this.lost = true;
    this.wake();
  }

  /** Shutdown after the grace period: abandon attempts in flight (they will be re-run elsewhere). */
  halt(): void {
    this.halted = true;
    this.wake();
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
      this.resolveWritten(false);
      if (this.isNew) this.rejectCreated(error);
      this.abandonInFlight();
      return { kind: "lost" };
    }
  }

  private async loop(): Promise<RunEnd> {
    for (;;) {
      if (this.lost || this.halted) {
        this.resolveWritten(false);
        this.abandonInFlight();
        return { kind: this.lost ? "lost" : "released" };
      }
      this.recordSettled();
      const decision = decide(this.definition.plan, this.state, {
        now: this.host.clock.now(),
        inFlight: new Set(this.inFlight.keys()),
        cancelRequested: this.cancelRequested,
        evaluate: (step) => this.evaluate(step),
        signals: this.signals,
      });
      switch (decision.type) {
        case "append":
          this.append(decision.event);
          continue;
        case "start": {
          if (this.host.draining() && !this.isNew) {
            if (this.inFlight.size > 0) {
              await this.nextSettled(null);
              continue;
            }
            return (await this.flush(true, null)) ? { kind: "released" } : this.lostEnd();
          }
          const launch: { step: string; attempt: number }[] = [];
          for (const a of decision.attempts) {
            const started: EventDraft =
              decision.phase === "forward"
                ? { type: "StepStarted", step: a.step, attempt: a.attempt }
                : { type: "StepCompensationStarted", step: a.step, attempt: a.attempt };
            this.append(started);
            const conditionError = this.conditionErrors.get(a.step);
            if (conditionError) {
              this.append({
                type: "StepFailed",
                step: a.step,
                attempt: a.attempt,
                error: conditionError,
                retryAt: null,
              });
            } else {
              launch.push(a);
            }
          }
          if (!(await this.flush(false, null))) return this.lostEnd();
          for (const a of launch) this.launch(decision.phase, a.step, a.attempt);
          continue;
        }
        case "abort":
          for (const entry of this.inFlight.values()) {
            if (entry.abortError === null) {
              entry.abortError = decision.error;
              entry.stop(new Error(decision.error.message));
            }
          }
          await this.nextSettled(null);
          continue;
        case "await":
          if (!(await this.flush(false, null))) return this.lostEnd();
          await this.nextSettled(decision.wakeAt);
          continue;
        case "sleep":
          if (!(await this.flush(true, decision.wakeAt, decision.wakeAt === null)))
            return this.lostEnd();
          return { kind: "sleeping", wakeAt: decision.wakeAt, state: this.state };
        case "idle":
          if (!(await this.flush(true, null))) return this.lostEnd();
          return { kind: "idle", state: this.state };
      }
    }
  }

  private lostEnd(): RunEnd {
    this.abandonInFlight();
    return { kind: this.isNew ? "duplicate" : "lost" };
  }

  private append(draft: EventDraft, at: number = this.host.clock.now()): void {
    const event = { ...draft, at };
    this.state = applyEvent(this.state, event);
    this.pending.push(event);
  }

  /** Evaluates a step's `when` once per run (decide may ask again after a sibling is skipped). */
  private evaluate(step: string): boolean {
    const known = this.conditions.get(step);
    if (known !== undefined) return known;
    const when = this.definition.steps.get(step)?.when;
    let result = true;
    if (when) {
      try {
        result = Boolean(when(this.context(step, 0, new LazyAbort(), "forward")));
      } catch (thrown) {
        this.conditionErrors.set(step, { ...toErrorInfo(thrown), retryable: false });
      }
    }
    this.conditions.set(step, result);
    return result;
  }

  private context(
    step: string,
    attempt: number,
    abort: LazyAbort,
    phase: Phase,
  ): StepContext<unknown> {
    return {
      sagaId: this.state.id,
      sagaName: this.state.name,
      tenantId: this.state.tenantId,
      input: this.state.input,
      results: stepResults(this.state),
      step,
      attempt,
      idempotencyKey:
        phase === "forward" ? `${this.state.id}:${step}` : `${this.state.id}:${step}:compensate`,
      get signal() {
        return abort.signal;
      },
      correlationId: this.state.correlationId,
      ...stepDirectives(this.state.id, step, () => this.host.clock.now()),
      startChild: async (type, input, options) => {
        const childId = await this.host.startChild(
          { sagaId: this.state.id, step },
          this.state,
          type,
          input,
          options?.version,
        );
        return new Suspend(null, null, childId);
      },
      compensateChild: (sagaId) =>
        this.host.compensateChild(this.state.tenantId, sagaId, abort.signal),
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
      this.wake();
    });
  }

  private stepPlan(step: string) {
    for (const node of this.definition.plan.nodes) {
      for (const s of node.kind === "step" ? [node.step] : node.branches)
        if (s.name === step) return s;
    }
    throw new Error(
      `step ${step} is not in saga ${this.definition.name} v${this.definition.version}`,
    );
  }

  /** Turns finished attempts into events (not yet written: the next flush carries them). */
  private recordSettled(): void {
    const settled = this.settled;
    this.settled = [];
    for (const { step, entry, outcome } of settled) {
      if (this.inFlight.get(step) !== entry) continue;
      this.inFlight.delete(step);
      const { phase, attempt } = entry;
      if (outcome.kind === "suspend" && phase === "forward") {
        this.append({
          type: "StepSuspended",
          step,
          attempt,
          until: outcome.until,
          wait: outcome.wait,
        });
      } else if (outcome.kind === "ok" || outcome.kind === "suspend") {
        // (A compensation that returns a suspension is taken as done: compensations do not wait.)
        const publish =
          outcome.kind === "ok" && outcome.publish ? { publish: outcome.publish } : {};
        this.append(
          phase === "forward"
            ? {
                type: "StepCompleted",
                step,
                attempt,
                result: outcome.kind === "ok" ? outcome.result : null,
                ...publish,
              }
            : { type: "StepCompensated", step, attempt },
        );
      } else if (outcome.kind === "error") {
        const stepState = this.state.steps[step] ?? PENDING_STEP;
        const now = this.host.clock.now();
        this.append(
          attemptFailed(
            phase,
            this.stepPlan(step),
            stepState,
            attempt,
            outcome.error,
            now,
            this.host.random(),
          ),
          now,
        );
      } else if (entry.abortError !== null && phase === "forward") {
        this.append({ type: "StepAborted", step, attempt, error: entry.abortError });
      }
    }
  }

  private nextSettled(wakeAt: number | null): Promise<void> {
    if (this.settled.length > 0 || this.lost || this.halted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // Chained: a deadline or retry more than 2^31 ms away must not wake the runner at once.
      const timer =
        wakeAt === null ? null : setLongTimeout(() => this.wake(), wakeAt - this.host.clock.now());
      this.poke = () => {
        timer?.clear();
        this.poke = null;
        resolve();
      };
    });
  }

  private wake(): void {
    this.poke?.();
  }

  private abandonInFlight(): void {
    for (const entry of this.inFlight.values())
      entry.stop(new Error("the worker gave up this saga"));
    this.inFlight.clear();
  }

  /** Writes what is pending. False: the saga is no longer ours (lease lost, or a duplicate start). */
  private async flush(release: boolean, wakeAt: number | null, dormant = false): Promise<boolean> {
    const ok = await this.write(release, wakeAt, dormant);
    this.resolveWritten(ok);
    return ok;
  }

  private async write(release: boolean, wakeAt: number | null, dormant: boolean): Promise<boolean> {
    if (this.lost) return false;
    if (this.isNew) return this.flushCreate(release, wakeAt, dormant);
    if (this.pending.length === 0 && !release) return true;
    const events = this.pending;
    const commit: Commit = {
      owner: this.host.owner,
      lease: this.lease!,
      expectedSeq: this.committedSeq,
      events,
      state: this.state,
      release,
      leaseMs: this.host.leaseMs,
      wakeAt,
      dormant,
      outbox: this.host.outbox,
      parentSignal: parentSignal(this.state),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.host.commit(commit);
        if (!result.ok) {
          this.lost = true;
          this.host.logger.warn(
            { sagaId: this.sagaId, code: result.error.code },
            `saga write refused, another worker carries on: ${result.error.message}`,
          );
          return false;
        }
        this.pending = this.pending.slice(events.length);
        this.committedSeq += events.length;
        if (events.length > 0) this.host.committed(this.state, events);
        if (result.cancelRequested) this.cancelRequested = true;
        return true;
      } catch (error) {
        if (this.lost || this.halted) return false;
        const delay = Math.min(COMMIT_RETRY_MAX_MS, 50 * 2 ** attempt);
        this.host.logger.warn(
          { sagaId: this.sagaId, err: toErrorInfo(error), retryInMs: delay },
          "saga write failed; retrying",
        );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async flushCreate(
    release: boolean,
    wakeAt: number | null,
    dormant: boolean,
  ): Promise<boolean> {
    let result: CreateResult;
    try {
      result = await this.host.create({
        state: this.state,
        events: this.pending,
        leaseOwner: release ? null : this.host.owner,
        leaseMs: this.host.leaseMs,
        wakeAt,
        dormant,
        outbox: this.host.outbox,
        parentSignal: parentSignal(this.state),
      });
    } catch (error) {
      this.rejectCreated(error);
      this.lost = true;
      return false;
    }
    if (result.created) this.createdState = this.state;
    this.resolveCreated(result);
    if (!result.created) return false;
    this.isNew = false;
    this.lease = result.lease;
    this.committedSeq = this.state.seq;
    this.host.committed(this.state, this.pending);
    this.pending = [];
    if (release) return true;
    return this.lease !== null;
  }
}

/** What a child saga that ended tells its parent's step (null: not a child, or not ended). */
function parentSignal(state: SagaState): ParentSignal | null {
  if (!state.parent || !["completed", "compensated", "failed"].includes(state.status)) return null;
  const payload = {
    sagaId: state.id,
    sagaType: state.name,
    status: state.status,
    results: stepResults(state),
  };
  if (state.status === "completed") return { payload, error: null };
  const cause = state.error ? `: ${state.error.message}` : "";
  return {
    payload,
    error: errorInfo(
      ErrorCodes.SAGA_CHILD_FAILED,
      `child saga ${state.id} (${state.name}) ended ${state.status}${cause}`,
      false,
    ),
  };
}
