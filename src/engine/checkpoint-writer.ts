import { toErrorInfo } from "../core/errors.js";
import { cappedBackoff } from "../core/retry.js";
import type { SagaEvent } from "../core/events.js";
import type { SagaState } from "../core/state.js";
import { parentSignal } from "./child-saga-port.js";
import type { Logger } from "./logger.js";
import { pause } from "./pause.js";
import type { Commit, CommitResult, CreateResult, LeaseRef, NewSaga } from "./store-port.js";

/** How a checkpoint leaves the saga. */
export type FlushMode =
  /** Keep the lease: the run goes on (attempts are about to start, or are under way). */
  | { kind: "hold" }
  /** Give the lease up: the saga ended, waits for an operator, or is handed back at shutdown. */
  | { kind: "release" }
  /** Give the lease up until `wakeAt` (a durable timer) or, when null, until a signal arrives. */
  | { kind: "sleep"; wakeAt: number | null };

export const Flush = {
  hold: { kind: "hold" },
  release: { kind: "release" },
  sleep: (wakeAt: number | null): FlushMode => ({ kind: "sleep", wakeAt }),
} as const satisfies Record<string, FlushMode | ((wakeAt: number | null) => FlushMode)>;

/** What the writer needs from the process: its identity, the group-committing store, listeners. */
export interface CheckpointHost {
  readonly owner: string;
  readonly leaseMs: number;
  readonly logger: Logger;
  /** Write lifecycle events to the outbox (a bus is configured). */
  readonly outbox: boolean;
  create(saga: NewSaga): Promise<CreateResult>;
  commit(commit: Commit): Promise<CommitResult>;
  /** Called after each durable write with the events written and the state after them. */
  committed(state: SagaState, events: readonly SagaEvent[]): void;
}

export interface FlushResult {
  /** False: the saga is no longer ours (lease lost, write refused, or a duplicate start). */
  ok: boolean;
  /** The store says a cancel was requested meanwhile. */
  cancelRequested: boolean;
}

const COMMIT_RETRY_BASE_MS = 50;
const COMMIT_RETRY_MAX_MS = 5_000;

/**
 * Persists one saga's checkpoints while its runner holds the lease: the events appended since the
 * last write and the state after them, in one write. A new saga's first write creates it (which
 * may find its idempotency key taken); later writes are fenced by lease epoch and expected
 * version. A write that fails for want of a database is retried with a capped backoff until it
 * succeeds or the runner gives the saga up; a refused write means another worker owns the saga.
 */
export class CheckpointWriter {
  private pending: SagaEvent[];
  private committedSeq: number;
  private lease: LeaseRef | null;
  private isNew: boolean;
  private resolveCreated!: (result: CreateResult) => void;
  private rejectCreated!: (error: unknown) => void;
  private resolveWritten!: (ok: boolean) => void;
  /** For a new saga: settles at its first write (the start is durable, or a duplicate). */
  readonly created: Promise<CreateResult>;
  /** For a new saga once `created` settled: the state that first write stored. */
  createdState: SagaState | null = null;
  /** Settles at the first write of this run: true when it was written, false when refused. */
  readonly written: Promise<boolean>;

  constructor(
    private readonly host: CheckpointHost,
    private readonly sagaId: string,
    init: {
      state: SagaState;
      /** Events already applied to `state` but not yet written (a new saga's SagaStarted). */
      unwritten?: readonly SagaEvent[];
      /** Null for a saga not yet created. */
      lease: LeaseRef | null;
    },
    /** True once the runner gave the saga up: stop retrying a failed write. */
    private readonly givenUp: () => boolean,
  ) {
    this.pending = [...(init.unwritten ?? [])];
    this.committedSeq = init.state.seq - this.pending.length;
    this.lease = init.lease;
    this.isNew = init.lease === null;
    this.created = new Promise<CreateResult>((resolve, reject) => {
      this.resolveCreated = resolve;
      this.rejectCreated = reject;
    });
    this.created.catch(() => undefined);
    this.written = new Promise<boolean>((resolve) => (this.resolveWritten = resolve));
  }

  /** The lease this process holds; null while the saga is not yet created. */
  get currentLease(): LeaseRef | null {
    return this.isNew ? null : this.lease;
  }

  /** True until the saga's first write created it. */
  get creating(): boolean {
    return this.isNew;
  }

  /** An event applied to the runner's state, to be written by the next flush. */
  append(event: SagaEvent): void {
    this.pending.push(event);
  }

  /** Writes what is pending with the state after it, and leaves the saga as `mode` says. */
  async flush(state: SagaState, mode: FlushMode): Promise<FlushResult> {
    const result = this.isNew ? await this.create(state, mode) : await this.commit(state, mode);
    this.resolveWritten(result.ok);
    return result;
  }

  /** The run ended without a write (lease lost, shutdown, an error): settle who waits for one. */
  fail(error?: unknown): void {
    this.resolveWritten(false);
    if (this.isNew)
      this.rejectCreated(error ?? new Error("the saga was given up before its start was written"));
  }

  private async commit(state: SagaState, mode: FlushMode): Promise<FlushResult> {
    const release = mode.kind !== "hold";
    if (this.pending.length === 0 && !release) return { ok: true, cancelRequested: false };
    const events = this.pending;
    const commit: Commit = {
      owner: this.host.owner,
      lease: this.lease!,
      expectedSeq: this.committedSeq,
      events,
      state,
      release,
      leaseMs: this.host.leaseMs,
      wakeAt: mode.kind === "sleep" ? mode.wakeAt : null,
      dormant: mode.kind === "sleep" && mode.wakeAt === null,
      outbox: this.host.outbox,
      parentSignal: parentSignal(state),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.host.commit(commit);
        if (!result.ok) {
          this.host.logger.warn(
            { sagaId: this.sagaId, code: result.error.code },
            `saga write refused, another worker carries on: ${result.error.message}`,
          );
          return { ok: false, cancelRequested: false };
        }
        this.pending =
          this.pending.length === events.length ? [] : this.pending.slice(events.length);
        this.committedSeq += events.length;
        if (events.length > 0) this.host.committed(state, events);
        return { ok: true, cancelRequested: result.cancelRequested };
      } catch (error) {
        if (this.givenUp()) return { ok: false, cancelRequested: false };
        const delay = cappedBackoff(attempt + 1, {
          baseMs: COMMIT_RETRY_BASE_MS,
          maxMs: COMMIT_RETRY_MAX_MS,
        });
        this.host.logger.warn(
          { sagaId: this.sagaId, err: toErrorInfo(error), retryInMs: delay },
          "saga write failed; retrying",
        );
        await pause(delay);
      }
    }
  }

  private async create(state: SagaState, mode: FlushMode): Promise<FlushResult> {
    const release = mode.kind !== "hold";
    let result: CreateResult;
    try {
      result = await this.host.create({
        state,
        events: this.pending,
        leaseOwner: release ? null : this.host.owner,
        leaseMs: this.host.leaseMs,
        wakeAt: mode.kind === "sleep" ? mode.wakeAt : null,
        dormant: mode.kind === "sleep" && mode.wakeAt === null,
        outbox: this.host.outbox,
        parentSignal: parentSignal(state),
      });
    } catch (error) {
      this.rejectCreated(error);
      return { ok: false, cancelRequested: false };
    }
    if (result.created) this.createdState = state;
    this.resolveCreated(result);
    if (!result.created) return { ok: false, cancelRequested: false };
    this.isNew = false;
    this.lease = result.lease;
    this.committedSeq = state.seq;
    this.host.committed(state, this.pending);
    this.pending = [];
    return { ok: release || this.lease !== null, cancelRequested: false };
  }
}
