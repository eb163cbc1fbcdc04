import type { ErrorInfo, SagaError } from "../core/errors.js";
import type { Json } from "../core/json.js";
import type { SagaEvent } from "../core/events.js";
import type { SagaState, SagaStatus } from "../core/state.js";

/**
 * The Store port: everything the engine needs from a database, and nothing more, as role ports
 * that each part of the engine takes only what it uses of. `Store` is all of them: what an
 * adapter (PostgresStore, PgliteStore) implements.
 *
 * Writes take arrays so that an adapter can commit many sagas' checkpoints in one statement
 * (group commit); the engine's batcher fills them. Times are database-clock milliseconds.
 */
export type Store = StoreLifecycle &
  SagaWriter &
  SagaReader &
  SignalInbox &
  OutboxSource &
  DefinitionStore;

/** Opening and closing: migrations and the database clock. */
export interface StoreLifecycle {
  /** Applies pending migrations (idempotent; safe with several processes starting at once). */
  migrate(): Promise<void>;
  /** Database clock, in milliseconds since the epoch. */
  now(): Promise<number>;
  close(): Promise<void>;
}

/** Writing sagas under leases: what the runners, the worker loops and the commands use. */
export interface SagaWriter {
  /** Inserts new sagas with their first events; an idempotency key already used returns the first saga. */
  create(batch: readonly NewSaga[]): Promise<CreateResult[]>;
  /** Appends events and updates projections, fenced by lease and expected version, in one transaction. */
  commit(batch: readonly Commit[]): Promise<CommitResult[]>;
  /**
   * True when `create` or `commit` threw because of one item's data (a value the database
   * refuses), not because the database is unavailable: the batch is then retried item by item.
   */
  isDataError(error: unknown): boolean;
  /** Leases up to `limit` due sagas of the given types (SKIP LOCKED) and returns their state. */
  claimDue(request: ClaimRequest): Promise<ClaimDueResult>;
  /** Leases one saga if it is unleased (or its lease expired) and its status is one of `statuses`. */
  claimById(request: ClaimByIdRequest): Promise<Claimed | null>;
  /** Extends the leases still held; those not returned are lost. */
  renewLeases(owner: string, leases: readonly LeaseRef[], leaseMs: number): Promise<RenewedLease[]>;
  /** Gives leases up so that any worker may claim the sagas at once (graceful shutdown). */
  releaseLeases(owner: string, leases: readonly LeaseRef[]): Promise<void>;
  /** Marks a cancel request; wakes the saga if no worker holds it. */
  requestCancel(tenantId: string, sagaId: string): Promise<CancelRequestResult>;
}

/** Reading sagas: queries of the API and the console, and what the commands look up. */
export interface SagaReader {
  getSaga(tenantId: string, sagaId: string): Promise<StoredSaga | null>;
  /** The saga started with this idempotency key in this tenant (e.g. the child of a step). */
  findByIdempotencyKey(tenantId: string, key: string): Promise<SagaState | null>;
  getEvents(tenantId: string, sagaId: string): Promise<StoredEvent[]>;
  /** A page of a tenant's sagas, newest first. */
  listSagas(query: SagaQuery): Promise<SagaPage>;
  /** Sagas running or compensating, by type, across tenants. */
  countActive(): Promise<{ name: string; count: number }[]>;
  /** Due sagas whose (name, version) is not among `types`: for a log line, never claimed. */
  findDueUnsupported(types: readonly SagaType[], limit: number): Promise<UnsupportedSaga[]>;
}

/** Deliveries to steps that wait: domain events, and the ends of child sagas. */
export interface SignalInbox {
  /** Signals delivered to a saga's suspended steps, not yet consumed. */
  getSignals(sagaId: string): Promise<StoredSignal[]>;
  /**
   * Delivers events, in one write, to the steps waiting for them (same tenant and type, and the
   * value at their path), and wakes their sagas; a step waiting for several of them sees them in
   * the given order. Idempotent per (event id, saga, step). Returns the sagas woken.
   */
  deliverEvents(
    events: readonly { id: string; tenantId: string; type: string; body: Json }[],
  ): Promise<{ tenantId: string; sagaId: string }[]>;
}

/** The transactional outbox, read by the relay. */
export interface OutboxSource {
  /**
   * Relays the outbox: in one transaction under an advisory lock (one relay at a time across
   * processes), reads up to `limit` rows in commit order, awaits `send`, deletes them. Returns the
   * number sent, or -1 when another process holds the relay.
   */
  relayOutbox(limit: number, send: (rows: OutboxRow[]) => Promise<void>): Promise<number>;
}

/** Saga definitions registered as data, per tenant. */
export interface DefinitionStore {
  /**
   * Registers a definition document for a tenant; a version is written once. Returns the stored
   * document and whether this call created it.
   */
  saveDefinition(def: StoredDefinition): Promise<{ created: boolean; document: Json }>;
  /** Registered definitions of a tenant, or of all tenants (null). */
  listDefinitions(tenantId: string | null): Promise<StoredDefinition[]>;
}

export interface SagaQuery {
  tenantId: string;
  statuses?: readonly SagaStatus[];
  names?: readonly string[];
  /** ISO timestamps. */
  createdAfter?: string;
  createdBefore?: string;
  /** ISO timestamps on the last change (for a finished saga: when it ended). */
  updatedAfter?: string;
  updatedBefore?: string;
  /** Business keys that must all match exactly. */
  attributes?: Readonly<Record<string, string | number | boolean>>;
  limit: number;
  /** The `next` of the previous page. */
  cursor?: string;
}

export interface SagaPage {
  items: SagaState[];
  /** Opaque cursor of the next page; null on the last page. */
  next: string | null;
}

export interface SagaType {
  name: string;
  version: number;
}

export interface LeaseRef {
  sagaId: string;
  /** Fencing token: incremented by every claim; a write carrying an older epoch is refused. */
  epoch: number;
}

export interface NewSaga {
  state: SagaState;
  /** The first events, starting with SagaStarted (seq 1..n); `state` is their projection. */
  events: readonly SagaEvent[];
  /** Lease the new saga to this owner at once (the start fast path), or leave it to any worker. */
  leaseOwner: string | null;
  leaseMs: number;
  /** When a worker should look at it if nobody holds it; null: due now. */
  wakeAt: number | null;
  /** Waits only for a signal (no timer): not due until one is delivered. */
  dormant?: boolean;
  /** Write its lifecycle events to the outbox (for the bus). */
  outbox?: boolean;
  /** A child saga that ended: what to deliver to its parent's step. */
  parentSignal?: ParentSignal | null;
}

export interface ParentSignal {
  payload: Json;
  error: ErrorInfo | null;
}

export type CreateResult =
  | { created: true; sagaId: string; lease: LeaseRef | null }
  | { created: false; sagaId: string; existing: SagaState };

export interface Commit {
  owner: string;
  lease: LeaseRef;
  /** The stream version the writer last saw; the write fails if another writer moved it. */
  expectedSeq: number;
  /** Events to append, numbered expectedSeq+1…; `state` is the projection after them. */
  events: readonly SagaEvent[];
  state: SagaState;
  /** Give the lease up (the saga sleeps, ended, or waits for an operator). */
  release: boolean;
  leaseMs: number;
  /** For an active saga: when it is due if nobody holds it (null = now). Ignored once it ended. */
  wakeAt: number | null;
  dormant?: boolean;
  outbox?: boolean;
  parentSignal?: ParentSignal | null;
}

/**
 * A refused write carries a typed error: `SAGA_VERSION_CONFLICT` (another writer appended first) or
 * `SAGA_LEASE_LOST` (the lease expired or another worker holds it). Nothing of it was written.
 */
export type CommitResult = { ok: true; cancelRequested: boolean } | { ok: false; error: SagaError };

export interface ClaimRequest {
  owner: string;
  leaseMs: number;
  limit: number;
  types: readonly SagaType[];
}

export interface ClaimDueResult {
  now: number;
  claimed: Claimed[];
}

export interface ClaimByIdRequest {
  owner: string;
  leaseMs: number;
  sagaId: string;
  tenantId: string;
  statuses: readonly SagaStatus[];
  /** Only when its wake time has come (a local timer firing), not for an operator's request. */
  onlyIfDue: boolean;
}

export interface Claimed {
  state: SagaState;
  lease: LeaseRef;
  cancelRequested: boolean;
}

export interface RenewedLease {
  sagaId: string;
  cancelRequested: boolean;
}

export type CancelRequestResult =
  | { found: false }
  | { found: true; status: SagaStatus; leaseOwner: string | null; accepted: boolean };

export interface UnsupportedSaga {
  sagaId: string;
  name: string;
  version: number;
}

export interface StoredSaga {
  state: SagaState;
  cancelRequested: boolean;
  leaseOwner: string | null;
}

export interface StoredDefinition {
  tenantId: string;
  name: string;
  version: number;
  document: Json;
  createdAt?: number;
}

export interface StoredSignal {
  id: string;
  step: string;
  payload: Json;
  error: ErrorInfo | null;
}

export interface OutboxRow {
  position: number;
  eventId: string;
  tenantId: string;
  type: string;
  key: string | null;
  data: Json;
  headers: Record<string, string>;
  createdAt: number;
}

export interface StoredEvent {
  sagaId: string;
  seq: number;
  event: SagaEvent;
}
