import { randomUUID } from "node:crypto";
import { ErrorCodes, SagaError, jsonProblemCode, toErrorInfo } from "../core/errors.js";
import type { FaultDirective, ParentRef, SagaEvent } from "../core/events.js";
import { toJson } from "../core/json.js";
import { applyEvent } from "../core/reducer.js";
import type { SagaState } from "../core/state.js";
import { Batcher } from "./batcher.js";
import { CalibratedClock, type Clock } from "./clock.js";
import type { SagaDefinition } from "./definition.js";
import { uuidv7 } from "./ids.js";
import { logListener } from "./log-listener.js";
import type { CommitListener } from "./observer.js";
import { silentLogger, type Logger } from "./logger.js";
import { DefinitionRegistry } from "./registry.js";
import { isSettled, toResult, type SagaResult } from "./saga-result.js";
import { SagaRunner, type RunEnd, type RunnerHost } from "./saga-runner.js";
import type {
  Claimed,
  Commit,
  CommitResult,
  CreateResult,
  NewSaga,
  SagaPage,
  SagaQuery,
  Store,
} from "./store-port.js";
import { WorkerLoops } from "./worker-loops.js";

export interface OrchestratorOptions {
  store: Store;
  sagas: readonly SagaDefinition<never, never>[];
  /** Tenant of the sagas this orchestrator starts and reads, unless a call names another. */
  tenantId?: string;
  /** This process's identity in lease columns; default a random UUID. */
  workerId?: string;
  /** How long a lease lasts without renewal; a crashed worker's sagas resume after it. Default 30 s. */
  leaseMs?: number;
  /** How often held leases are renewed (and cancel requests picked up). Default min(1 s, lease/3). */
  heartbeatMs?: number;
  /** How often the store is polled for due work (timers, retries, recovery). Default 500 ms. */
  pollIntervalMs?: number;
  /**
   * Sagas run at once by this process; starts beyond it are stored as due work for any worker.
   * 0 makes a pure producer (with `worker: false`). Default 1000.
   */
  maxConcurrentSagas?: number;
  /** Claim due work from the store (false: only run the sagas this process starts). Default true. */
  worker?: boolean;
  /** Most sagas written in one group commit. Default 256. */
  maxCommitBatch?: number;
  /** Group commits in flight at once. Default 2. */
  commitConcurrency?: number;
  /** How often `result()` reads the store for a saga run by another process. Default 250 ms. */
  resultPollMs?: number;
  /** Write lifecycle events (saga.started, saga.completed…) to the outbox for the bus. Default false. */
  outbox?: boolean;
  /** Close the store in `close()` (default true; false when the store is shared). */
  closeStore?: boolean;
  logger?: Logger;
  clock?: Clock;
  random?: () => number;
  /** Largest step result (serialised UTF-8 bytes); larger fails the step (SAGA_STEP_RESULT_TOO_LARGE). Default 1 MiB. */
  maxStepResultBytes?: number;
}

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
 */
export class Orchestrator {
  readonly tenantId: string;
  readonly workerId: string;
  readonly registry: DefinitionRegistry;
  private readonly store: Store;
  private readonly clock: CalibratedClock;
  private readonly logger: Logger;
  private readonly runners = new Map<string, SagaRunner>();
  private readonly waiters = new Map<string, Set<(state: SagaState) => void>>();
  private readonly listeners = new Set<CommitListener>();
  private readonly host: RunnerHost;
  private readonly loops: WorkerLoops;
  private readonly options: Required<
    Pick<OrchestratorOptions, "leaseMs" | "maxConcurrentSagas" | "resultPollMs">
  >;
  private readonly closeStore: boolean;
  private closing = false;
  private closed = false;

  private constructor(options: OrchestratorOptions) {
    this.store = options.store;
    this.closeStore = options.closeStore ?? true;
    this.registry = new DefinitionRegistry(options.sagas);
    this.tenantId = options.tenantId ?? "default";
    this.workerId = options.workerId ?? randomUUID();
    this.logger = options.logger ?? silentLogger;
    this.clock = new CalibratedClock(options.clock);
    const leaseMs = options.leaseMs ?? 30_000;
    this.options = {
      leaseMs,
      maxConcurrentSagas: options.maxConcurrentSagas ?? 1000,
      resultPollMs: options.resultPollMs ?? 250,
    };
    const batch = {
      maxBatch: options.maxCommitBatch ?? 256,
      maxConcurrent: options.commitConcurrency ?? 2,
      isItemFault: (error: unknown) => this.store.isDataError(error),
    };
    const creates = new Batcher<NewSaga, CreateResult>((b) => this.store.create(b), batch);
    const commits = new Batcher<Commit, CommitResult>((b) => this.store.commit(b), batch);
    this.host = {
      owner: this.workerId,
      leaseMs,
      clock: this.clock,
      random: options.random ?? Math.random,
      logger: this.logger,
      ...(options.maxStepResultBytes !== undefined
        ? { maxStepResultBytes: options.maxStepResultBytes }
        : {}),
      create: (s) => creates.submit(s),
      commit: (c) => commits.submit(c),
      draining: () => this.closing,
      outbox: options.outbox ?? false,
      loadSignals: (sagaId) => this.store.getSignals(sagaId),
      startChild: async (parent, state, type, input, version) => {
        const handle = await this.startSaga(type, input, {
          tenantId: state.tenantId,
          idempotencyKey: `${parent.sagaId}:${parent.step}`,
          ...(state.correlationId ? { correlationId: state.correlationId } : {}),
          ...(version !== undefined ? { version } : {}),
          parent,
        });
        return handle.sagaId;
      },
      compensateChild: async (tenantId, sagaId, signal) => {
        const child = await this.get(sagaId, { tenantId });
        if (!child || child.status !== "completed") return; // nothing completed to undo
        await this.compensate(sagaId, { tenantId });
        const result = await Promise.race([
          this.waitForResult(tenantId, sagaId),
          new Promise<never>((_, reject) =>
            signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }),
          ),
        ]);
        if (result.status !== "compensated") {
          throw new SagaError(
            ErrorCodes.SAGA_CHILD_FAILED,
            `child saga ${sagaId} could not be compensated: it is ${result.status}`,
            { retryable: true },
          );
        }
      },
      committed: (state, events) => {
        for (const listener of this.listeners) {
          try {
            listener(state, events);
          } catch (error) {
            this.logger.warn({ err: toErrorInfo(error) }, "a commit listener threw; ignored");
          }
        }
      },
    };
    this.listeners.add(logListener(this.logger));
    this.listeners.add((state, events) => this.cancelAbandonedChildren(state, events));
    this.loops = new WorkerLoops({
      store: this.store,
      registry: this.registry,
      owner: this.workerId,
      leaseMs,
      heartbeatMs: options.heartbeatMs ?? Math.min(1_000, leaseMs / 3),
      pollIntervalMs: options.pollIntervalMs ?? 500,
      claimEnabled: options.worker ?? true,
      clock: this.clock,
      logger: this.logger,
      runners: this.runners,
      capacity: () => this.options.maxConcurrentSagas - this.runners.size,
      adopt: (claimed) => this.adopt(claimed),
    });
  }

  /** Migrates the store, reads the database clock, and starts the worker loops. */
  static async create(options: OrchestratorOptions): Promise<Orchestrator> {
    const orchestrator = new Orchestrator(options);
    await orchestrator.store.migrate();
    const sentAt = orchestrator.clock.localNow();
    const dbNow = await orchestrator.store.now();
    orchestrator.clock.calibrate(dbNow, sentAt, orchestrator.clock.localNow());
    orchestrator.loops.start();
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
    return this.startSaga(name, input, options);
  }

  private async startSaga(
    name: string,
    input: unknown,
    options: StartOptions & { parent?: ParentRef },
  ): Promise<SagaHandle> {
    this.assertOpen();
    const definition = this.registry.resolve(
      name,
      options.version,
      options.tenantId ?? this.tenantId,
    );
    const json = toJson(input);
    if (!json.ok) {
      throw new SagaError(
        jsonProblemCode(json.kind, ErrorCodes.SAGA_INVALID_INPUT),
        `saga input is not JSON: ${json.problem} at ${json.path}`,
        {
          retryable: false,
        },
      );
    }
    const key = options.idempotencyKey ?? null;
    if (key !== null && (typeof key !== "string" || key.length === 0 || key.length > 255)) {
      throw new SagaError(
        ErrorCodes.SAGA_INVALID_INPUT,
        "idempotencyKey must be a string of 1 to 255 characters",
        {
          retryable: false,
        },
      );
    }
    const now = this.clock.now();
    const started: SagaEvent = {
      type: "SagaStarted",
      at: now,
      sagaId: uuidv7(now),
      tenantId: options.tenantId ?? this.tenantId,
      name: definition.name,
      version: definition.version,
      input: json.value,
      idempotencyKey: key,
      correlationId: options.correlationId ?? null,
      attributes: attributesOf(definition, json.value),
      parent: options.parent ?? null,
      ...(options.fault ? { fault: options.fault } : {}),
      deadlineAt: definition.plan.timeoutMs === null ? null : now + definition.plan.timeoutMs,
    };
    const state = applyEvent(null, started);
    let created: CreateResult;
    let written = state;
    if (this.runners.size >= this.options.maxConcurrentSagas) {
      // At capacity: store it as due work for any worker (this one included, once it has room).
      created = await this.host.create({
        state,
        events: [started],
        leaseOwner: null,
        leaseMs: 0,
        wakeAt: null,
      });
    } else {
      const runner = new SagaRunner(this.host, definition, {
        state,
        unwritten: [started],
        lease: null,
      });
      this.runners.set(state.id, runner);
      this.drive(runner);
      created = await runner.created;
      written = runner.createdState ?? state;
    }
    if (!created.created) {
      if (created.existing.name !== definition.name) {
        throw new SagaError(
          ErrorCodes.SAGA_INVALID_STATE,
          `idempotency key ${JSON.stringify(key)} already started saga ${created.sagaId} of type ${created.existing.name}`,
          { retryable: false },
        );
      }
      return { ...this.handle(created.sagaId, options), state: created.existing };
    }
    return { ...this.handle(state.id, { ...options, created: true }), state: written };
  }

  /**
   * Listens to every durable write of this process (the events and the state after them), e.g. for
   * metrics or a live stream. Writes made by other processes are not seen here: read the store.
   * Returns the function that stops listening.
   */
  onCommitted(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads the store's clock: throws when the store does not answer. */
  async ping(): Promise<void> {
    await this.store.now();
  }

  /**
   * Claims these sagas now if they are due and nobody holds them, and runs them here: for sagas
   * an event was just delivered to (`Store.deliverEvent`), so they resume without waiting for a
   * poll. Never throws; a saga it cannot claim is left to the worker that holds or polls it.
   */
  async wake(tenantId: string, sagaIds: readonly string[]): Promise<void> {
    if (this.closing) return;
    await Promise.all(sagaIds.map((id) => this.loops.claimNow(tenantId, id, ["running"], true)));
  }

  /** Sagas this process is running right now. */
  get runningHere(): number {
    return this.runners.size;
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
      result: () => this.waitForResult(tenantId, sagaId),
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
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new SagaError(
        ErrorCodes.SAGA_INVALID_INPUT,
        "limit must be an integer from 1 to 1000",
        {
          retryable: false,
        },
      );
    }
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
    const tenantId = options.tenantId ?? this.tenantId;
    const request = await this.store.requestCancel(tenantId, sagaId);
    if (!request.found) throw notFound(sagaId);
    if (!request.accepted) {
      if (request.status === "compensating") return;
      throw new SagaError(
        ErrorCodes.SAGA_INVALID_STATE,
        `saga ${sagaId} is ${request.status}; it cannot be cancelled`,
        {
          retryable: false,
        },
      );
    }
    const local = this.runners.get(sagaId);
    if (local) return local.requestCancel();
    // Nobody holds it (it sleeps, or waits for an operator): act on it here, now.
    const runner = await this.loops.claimNow(tenantId, sagaId, ["running", "failed"], false);
    await runner?.written;
  }

  /**
   * Resumes a `failed` saga: the compensation that failed (or, after a paused forward failure,
   * the failed step) gets a fresh retry budget and a new deadline. Throws SAGA_NOT_FOUND or
   * SAGA_INVALID_STATE when the saga is not failed.
   */
  async retry(sagaId: string, options: CallOptions = {}): Promise<SagaHandle> {
    this.assertOpen();
    const tenantId = options.tenantId ?? this.tenantId;
    const saga = await this.store.getSaga(tenantId, sagaId);
    if (!saga) throw notFound(sagaId);
    const definition = this.registry.find(saga.state.name, saga.state.version, tenantId);
    if (!definition) this.registry.resolve(saga.state.name, saga.state.version, tenantId); // throws SAGA_UNKNOWN_TYPE
    const claimed =
      saga.state.status === "failed"
        ? await this.store.claimById({
            owner: this.workerId,
            leaseMs: this.options.leaseMs,
            sagaId,
            tenantId,
            statuses: ["failed"],
            onlyIfDue: false,
          })
        : null;
    if (!claimed || !definition) {
      throw new SagaError(
        ErrorCodes.SAGA_INVALID_STATE,
        `saga ${sagaId} is ${saga.state.status}; only a failed saga can be retried`,
        {
          retryable: false,
        },
      );
    }
    const runner = new SagaRunner(this.host, definition, claimed);
    const timeoutMs = definition.plan.timeoutMs;
    runner.appendBeforeRun({
      type: "SagaRetried",
      deadlineAt: timeoutMs === null ? null : this.clock.now() + timeoutMs,
    });
    this.runners.set(sagaId, runner);
    this.drive(runner);
    await runner.written; // SagaRetried is durable before `retry` returns
    return this.handle(sagaId, { tenantId });
  }

  /**
   * Undoes a `completed` saga: its compensations run in reverse completion order (reason
   * `requested`). Throws SAGA_NOT_FOUND, or SAGA_INVALID_STATE when it is not completed.
   */
  async compensate(sagaId: string, options: CallOptions = {}): Promise<SagaHandle> {
    this.assertOpen();
    const tenantId = options.tenantId ?? this.tenantId;
    const saga = await this.store.getSaga(tenantId, sagaId);
    if (!saga) throw notFound(sagaId);
    const definition = this.registry.find(saga.state.name, saga.state.version, tenantId);
    if (!definition) this.registry.resolve(saga.state.name, saga.state.version, tenantId);
    const claimed =
      saga.state.status === "completed"
        ? await this.store.claimById({
            owner: this.workerId,
            leaseMs: this.options.leaseMs,
            sagaId,
            tenantId,
            statuses: ["completed"],
            onlyIfDue: false,
          })
        : null;
    if (!claimed || !definition) {
      throw new SagaError(
        ErrorCodes.SAGA_INVALID_STATE,
        `saga ${sagaId} is ${saga.state.status}; only a completed saga can be compensated`,
        {
          retryable: false,
        },
      );
    }
    const runner = new SagaRunner(this.host, definition, claimed);
    runner.appendBeforeRun({
      type: "SagaCompensationStarted",
      reason: "requested",
      error: {
        name: "SagaError",
        code: ErrorCodes.SAGA_COMPENSATION_REQUESTED,
        message: "compensation of the completed saga was requested",
        retryable: false,
      },
    });
    this.runners.set(sagaId, runner);
    this.drive(runner);
    await runner.written;
    return this.handle(sagaId, { tenantId });
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
    await this.loops.stop();
    const deadline = Date.now() + (options.graceMs ?? 5_000);
    while (this.runners.size > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const leftovers = [...this.runners.values()];
    const leases = leftovers.flatMap((r) => (r.currentLease ? [r.currentLease] : []));
    for (const runner of leftovers) runner.halt();
    await this.store.releaseLeases(this.workerId, leases).catch((error: unknown) => {
      this.logger.warn(
        { err: toErrorInfo(error) },
        "could not release leases on close; they will expire",
      );
    });
    this.closed = true;
    if (this.closeStore) await this.store.close();
  }

  /**
   * A parent that starts compensating while a child saga runs (its step was suspended, now
   * aborted) cancels that child, so that the child undoes itself instead of running on.
   */
  private cancelAbandonedChildren(state: SagaState, events: readonly SagaEvent[]): void {
    if (!events.some((e) => e.type === "SagaCompensationStarted")) return;
    const aborted = Object.entries(state.steps).filter(([, s]) => s.status === "aborted");
    for (const [step] of aborted) {
      void this.store
        .findByIdempotencyKey(state.tenantId, `${state.id}:${step}`)
        .then(async (child) => {
          if (child?.parent?.sagaId === state.id && child.status === "running") {
            await this.cancel(child.id, { tenantId: state.tenantId });
          }
        })
        .catch((error: unknown) =>
          this.logger.warn(
            { sagaId: state.id, step, err: toErrorInfo(error) },
            "could not cancel the child saga of an aborted step",
          ),
        );
    }
  }

  private assertOpen(): void {
    if (this.closing)
      throw new SagaError(ErrorCodes.SAGA_ORCHESTRATOR_CLOSED, "the orchestrator is closed", {
        retryable: false,
      });
  }

  private adopt(claimed: Claimed): SagaRunner | null {
    const definition = this.registry.find(
      claimed.state.name,
      claimed.state.version,
      claimed.state.tenantId,
    );
    if (!definition) {
      // claimDue filters on types; a claimById can reach a type this process lacks: hand it back.
      void this.store.releaseLeases(this.workerId, [claimed.lease]).catch(() => undefined);
      return null;
    }
    this.runners.get(claimed.state.id)?.leaseLost(); // a stale local runner (its lease expired)
    const runner = new SagaRunner(this.host, definition, claimed);
    this.runners.set(claimed.state.id, runner);
    this.drive(runner);
    return runner;
  }

  private drive(runner: SagaRunner): void {
    void runner.run().then((end: RunEnd) => {
      if (this.runners.get(runner.sagaId) === runner) this.runners.delete(runner.sagaId);
      if (end.kind === "idle") this.notify(end.state);
      if (end.kind === "sleeping") {
        if (end.wakeAt !== null) this.loops.wakeAt(end.state, end.wakeAt);
        // A signal may have landed while this process held the saga: look once, now.
        if (Object.values(end.state.steps).some((s) => s.status === "suspended")) {
          void this.store.getSignals(end.state.id).then(
            async (signals) => {
              if (signals.length > 0)
                await this.loops.claimNow(end.state.tenantId, end.state.id, ["running"], false);
            },
            () => undefined,
          );
        }
      }
    });
  }

  private notify(state: SagaState): void {
    const waiting = this.waiters.get(state.id);
    if (!waiting) return;
    this.waiters.delete(state.id);
    for (const resolve of waiting) resolve(state);
  }

  private async waitForResult(tenantId: string, sagaId: string): Promise<SagaResult> {
    for (;;) {
      // A saga running here tells us when it ends: no need to read the store (the fast path).
      // Otherwise listen before reading, so that an end between the read and the wait is not missed.
      const runningHere = this.runners.has(sagaId);
      let stopListening = (): void => undefined;
      const local = new Promise<SagaState | null>((resolve) => {
        const set = this.waiters.get(sagaId) ?? new Set();
        set.add(resolve);
        this.waiters.set(sagaId, set);
        const timer = setTimeout(
          () => resolve(null),
          this.options.resultPollMs * (runningHere ? 8 : 1),
        );
        stopListening = () => {
          clearTimeout(timer);
          set.delete(resolve);
          resolve(null);
        };
      });
      if (!runningHere) {
        const saga = await this.store.getSaga(tenantId, sagaId);
        if (!saga || isSettled(saga.state)) stopListening();
        if (!saga) throw notFound(sagaId);
        if (isSettled(saga.state)) return toResult(saga.state);
      }
      const state = await local;
      stopListening();
      if (state && isSettled(state) && state.tenantId === tenantId) return toResult(state);
      if (this.closed)
        throw new SagaError(ErrorCodes.SAGA_ORCHESTRATOR_CLOSED, "the orchestrator is closed", {
          retryable: false,
        });
    }
  }
}

function attributesOf(
  definition: SagaDefinition<unknown>,
  input: unknown,
): Record<string, string | number | boolean> {
  if (!definition.attributes) return {};
  let attributes: unknown;
  try {
    attributes = definition.attributes(input);
  } catch (error) {
    throw new SagaError(
      ErrorCodes.SAGA_INVALID_INPUT,
      `attributes of ${definition.name} could not be computed from the input: ${toErrorInfo(error).message}`,
      { retryable: false, cause: error },
    );
  }
  if (typeof attributes !== "object" || attributes === null || Array.isArray(attributes)) {
    throw new SagaError(
      ErrorCodes.SAGA_INVALID_INPUT,
      `attributes of ${definition.name} must be an object`,
      { retryable: false },
    );
  }
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (
      !/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(key) ||
      !["string", "number", "boolean"].includes(typeof value) ||
      (typeof value === "string" && value.length > 256)
    ) {
      throw new SagaError(
        ErrorCodes.SAGA_INVALID_INPUT,
        `attribute ${JSON.stringify(key)} of ${definition.name} must be a short name with a string (<= 256 chars), number or boolean value`,
        { retryable: false },
      );
    }
    out[key] = value as string | number | boolean;
  }
  return out;
}

function notFound(sagaId: string): SagaError {
  return new SagaError(ErrorCodes.SAGA_NOT_FOUND, `no saga ${sagaId}`, { retryable: false });
}
