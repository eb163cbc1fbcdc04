import { invalidInput, toErrorInfo } from "../core/errors.js";
import type { FaultDirective, SagaEvent } from "../core/events.js";
import type { SagaState } from "../core/state.js";
import { CalibratedClock } from "./clock.js";
import { closedError } from "./engine-errors.js";
import { logListener } from "./log-listener.js";
import { pause } from "./pause.js";
import type { CommitListener } from "./observer.js";
import type { Logger } from "./logger.js";
import { compileOrchestratorOptions, type OrchestratorOptions } from "./orchestrator-options.js";
import { DefinitionRegistry, type DefinitionLookup } from "./registry.js";
import { assembleRunnerHost, type OrchestratorParts } from "./runner-host.js";
import type { SagaResult } from "./saga-result.js";
import type { SagaDefinition } from "./definition.js";
import type { SagaPage, SagaQuery, Store } from "./store-port.js";

export type { OrchestratorOptions } from "./orchestrator-options.js";

export interface CallOptions {
  tenantId?: string;
}

export interface StartOptions extends CallOptions {
  /** Carried into the saga's log lines and `ctx.correlationId` (e.g. the request's X-Correlation-ID). */
  correlationId?: string;
  /** A repeated start with the same key (per tenant) returns the first saga instead of a new one. */
  idempotencyKey?: string;
  /** Start this version instead of the latest. */
  version?: number;
  /** Rehearse a failure: fail this attempt on purpose (recorded in SagaStarted). */
  fault?: FaultDirective;
  /**
   * The W3C trace context of what asked for the start (`00-<trace id>-<span id>-<flags>`),
   * recorded in SagaStarted; the saga's trace links to it. A malformed value is ignored.
   */
  traceparent?: string;
}

/** A started (or found) saga. */
export interface SagaHandle {
  readonly sagaId: string;
  /** False when the idempotency key returned a saga started earlier. */
  readonly created: boolean;
  /** From `start`: the saga as its start was written (or as found, for a repeated key). */
  readonly state?: SagaState;
  /** Resolves when the saga completes, compensates, or fails (waiting for an operator). */
  result(): Promise<SagaResult>;
}

/**
 * Runs sagas durably on a Store. Start one with `start`; this process runs it at once, and any
 * process on the same database finishes it if this one dies.
 *
 * A facade: starts go to the `SagaStarter`, operator commands to `SagaCommands`, waiting to the
 * `ResultWaiter`; the `RunnerPool` holds the sagas running here and the `WorkerLoops` claim,
 * renew and wake them (see `assembleRunnerHost` for how the parts fit).
 */
export class Orchestrator {
  readonly tenantId: string;
  readonly workerId: string;
  /** The definitions this orchestrator runs (read-only; add with `register`). */
  readonly definitions: DefinitionLookup;
  private readonly registry: DefinitionRegistry;
  private readonly store: Store;
  private readonly clock: CalibratedClock;
  private readonly parts: OrchestratorParts;
  private readonly closeStore: boolean;
  private readonly logger: Logger;
  private closing = false;
  private closed = false;

  private constructor(options: OrchestratorOptions) {
    const o = compileOrchestratorOptions(options);
    this.tenantId = o.tenantId;
    this.workerId = o.workerId;
    this.store = o.store;
    this.closeStore = o.closeStore;
    this.logger = o.logger;
    this.registry = new DefinitionRegistry(o.sagas);
    this.definitions = this.registry;
    this.clock = new CalibratedClock(o.clock);
    this.parts = assembleRunnerHost(o, this.registry, this.clock, this);
    this.parts.fanout.add(logListener(o.logger));
  }

  /** Migrates the store, reads the database clock, and starts the worker loops. */
  static async create(options: OrchestratorOptions): Promise<Orchestrator> {
    const orchestrator = new Orchestrator(options);
    await orchestrator.store.migrate();
    const sentAt = orchestrator.clock.localNow();
    const dbNow = await orchestrator.store.now();
    orchestrator.clock.calibrate(dbNow, sentAt, orchestrator.clock.localNow());
    orchestrator.parts.loops.start();
    return orchestrator;
  }

  /**
   * Starts a saga and returns once its start is durable; its first step is already running here.
   * Throws SAGA_UNKNOWN_TYPE, SAGA_INVALID_INPUT, or SAGA_INVALID_STATE when the idempotency key
   * belongs to a saga of another type.
   */
  async start(
    name: string,
    input: unknown = null,
    options: StartOptions = {},
  ): Promise<SagaHandle> {
    this.assertOpen();
    const tenantId = options.tenantId ?? this.tenantId;
    const started = await this.parts.starter.start({ ...options, tenantId, name, input });
    return {
      ...this.handle(started.sagaId, { tenantId, created: started.created }),
      state: started.state,
    };
  }

  /** Adds a definition (for one tenant, or for all); the same name and version twice is an error. */
  register(definition: SagaDefinition<never, never>, tenantId?: string): void {
    this.registry.add(definition, tenantId);
  }

  /**
   * Listens to every durable write of this process (the events and the state after them), e.g. for
   * metrics or a live stream. Writes made by other processes are not seen here: read the store.
   * Returns the function that stops listening.
   */
  onCommitted(listener: CommitListener): () => void {
    return this.parts.fanout.add(listener);
  }

  /** Reads the store's clock: throws when the store does not answer. */
  async ping(): Promise<void> {
    await this.store.now();
  }

  /**
   * Claims these sagas now if they are due and nobody holds them, and runs them here: for sagas
   * an event was just delivered to (`Store.deliverEvents`), so they resume without waiting for a
   * poll. Never throws; a saga it cannot claim is left to the worker that holds or polls it.
   */
  async wake(tenantId: string, sagaIds: readonly string[]): Promise<void> {
    if (this.closing) return;
    await Promise.all(
      sagaIds.map((id) => this.parts.loops.claimNow(tenantId, id, ["running"], true)),
    );
  }

  /** Sagas this process is running right now. */
  get runningHere(): number {
    return this.parts.pool.size;
  }

  /** True once `close()` was called. */
  get isClosing(): boolean {
    return this.closing;
  }

  /** A handle on an existing saga (e.g. one started by another process). */
  handle(sagaId: string, options: CallOptions & { created?: boolean } = {}): SagaHandle {
    const tenantId = options.tenantId ?? this.tenantId;
    return {
      sagaId,
      created: options.created ?? false,
      result: () => this.parts.waiter.wait(tenantId, sagaId),
    };
  }

  /** The saga's current projection, or null when there is none in this tenant. */
  async get(sagaId: string, options: CallOptions = {}): Promise<SagaState | null> {
    return (await this.store.getSaga(options.tenantId ?? this.tenantId, sagaId))?.state ?? null;
  }

  /** A page of sagas, newest first, filtered by status, type, creation time and attributes. */
  async list(
    query: Omit<SagaQuery, "tenantId" | "limit"> & { tenantId?: string; limit?: number } = {},
  ): Promise<SagaPage> {
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw invalidInput("limit must be an integer from 1 to 1000");
    return this.store.listSagas({ ...query, tenantId: query.tenantId ?? this.tenantId, limit });
  }

  /** Sagas running or compensating right now, by type, in the whole store. */
  countActive(): Promise<{ name: string; count: number }[]> {
    return this.store.countActive();
  }

  /** The saga's full history, oldest first (empty when there is no such saga in this tenant). */
  async events(sagaId: string, options: CallOptions = {}): Promise<SagaEvent[]> {
    return (await this.store.getEvents(options.tenantId ?? this.tenantId, sagaId)).map(
      (e) => e.event,
    );
  }

  /**
   * Stops forward progress (the running step's signal is aborted) and compensates. A saga already
   * compensating is left as it is. Throws SAGA_NOT_FOUND, or SAGA_INVALID_STATE once it ended.
   */
  async cancel(sagaId: string, options: CallOptions = {}): Promise<void> {
    this.assertOpen();
    await this.parts.commands.cancel(options.tenantId ?? this.tenantId, sagaId);
  }

  /**
   * Resumes a `failed` saga: the compensation that failed (or, after a paused forward failure,
   * the failed step) gets a fresh retry budget and a new deadline. Throws SAGA_NOT_FOUND or
   * SAGA_INVALID_STATE when the saga is not failed.
   */
  async retry(sagaId: string, options: CallOptions = {}): Promise<SagaHandle> {
    return this.resume(sagaId, options, "retry");
  }

  /**
   * Undoes a `completed` saga: its compensations run in reverse completion order (reason
   * `requested`). Throws SAGA_NOT_FOUND, or SAGA_INVALID_STATE when it is not completed.
   */
  async compensate(sagaId: string, options: CallOptions = {}): Promise<SagaHandle> {
    return this.resume(sagaId, options, "compensate");
  }

  /** Starts shutting down: no new starts, no new attempts; running steps go on. `close()` finishes. */
  beginDrain(): void {
    this.closing = true;
  }

  /**
   * Stops: no new starts, no new attempts; sagas in flight get `graceMs` to reach a step boundary,
   * then their attempts are abandoned; all leases are released so other processes resume at once.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    await this.parts.loops.stop();
    // Sagas in flight get the grace period to reach a step boundary (their runners end then).
    const grace = new AbortController();
    await Promise.race([
      this.parts.pool.whenEmpty(),
      pause(options.graceMs ?? 5_000, grace.signal),
    ]);
    grace.abort(); // ends the grace timer when the pool emptied first
    const leases = this.parts.pool.haltAll();
    await this.store.releaseLeases(this.workerId, leases).catch((error: unknown) => {
      this.logger.warn(
        { err: toErrorInfo(error) },
        "could not release leases on close; they will expire",
      );
    });
    this.closed = true;
    this.parts.waiter.close();
    if (this.closeStore) await this.store.close();
  }

  private async resume(
    sagaId: string,
    options: CallOptions,
    how: "retry" | "compensate",
  ): Promise<SagaHandle> {
    this.assertOpen();
    const tenantId = options.tenantId ?? this.tenantId;
    await this.parts.commands.resume(tenantId, sagaId, how);
    return this.handle(sagaId, { tenantId });
  }

  private assertOpen(): void {
    if (this.closing) throw closedError();
  }
}
