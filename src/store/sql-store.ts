import type { Json } from "../core/json.js";
import type { SagaState } from "../core/state.js";
import type {
  CancelRequestResult,
  ClaimByIdRequest,
  ClaimDueResult,
  ClaimRequest,
  Claimed,
  Commit,
  CommitResult,
  CreateResult,
  LeaseRef,
  NewSaga,
  OutboxRow,
  RenewedLease,
  SagaPage,
  SagaQuery,
  SagaType,
  Store,
  StoredDefinition,
  StoredEvent,
  StoredSaga,
  StoredSignal,
  UnsupportedSaga,
} from "../engine/store-port.js";
import { migrate } from "./migrate.js";
import type { SqlClient } from "./sql-client.js";
import { SqlDefinitions } from "./sql-definitions.js";
import { isDataError } from "./sql-errors.js";
import { SqlOutbox } from "./sql-outbox.js";
import { SqlSagaReads } from "./sql-saga-reads.js";
import { dbNow, SqlSagaWrites } from "./sql-saga-writes.js";
import { SqlSignals } from "./sql-signals.js";

export { InvalidCursorError } from "./sql-saga-reads.js";

/**
 * The Store over SQL: one schema and one set of statements for PostgreSQL and PGlite, one part
 * per role port (writes, reads, signals, outbox, definitions) over one client. Every write is one
 * statement, so a batch is one round trip and one commit.
 */
export class SqlStore implements Store {
  private readonly sagaWriter: SqlSagaWrites;
  private readonly sagaReader: SqlSagaReads;
  private readonly signalInbox: SqlSignals;
  private readonly outboxSource: SqlOutbox;
  private readonly definitionStore: SqlDefinitions;

  constructor(protected readonly sql: SqlClient) {
    this.sagaWriter = new SqlSagaWrites(sql);
    this.sagaReader = new SqlSagaReads(sql);
    this.signalInbox = new SqlSignals(sql);
    this.outboxSource = new SqlOutbox(sql);
    this.definitionStore = new SqlDefinitions(sql);
  }

  /**
   * The SQL client under this store, for adapters that share its database and connections (the
   * event store, tenant secrets, the audit log): one pool per process, not one per adapter.
   */
  get client(): SqlClient {
    return this.sql;
  }

  // StoreLifecycle
  async migrate(): Promise<void> {
    await migrate(this.sql);
  }

  now(): Promise<number> {
    return dbNow(this.sql);
  }

  async close(): Promise<void> {
    await this.sql.close();
  }

  // SagaWriter
  isDataError(error: unknown): boolean {
    return isDataError(error);
  }

  create(batch: readonly NewSaga[]): Promise<CreateResult[]> {
    return this.sagaWriter.create(batch);
  }

  commit(batch: readonly Commit[]): Promise<CommitResult[]> {
    return this.sagaWriter.commit(batch);
  }

  claimDue(request: ClaimRequest): Promise<ClaimDueResult> {
    return this.sagaWriter.claimDue(request);
  }

  claimById(request: ClaimByIdRequest): Promise<Claimed | null> {
    return this.sagaWriter.claimById(request);
  }

  renewLeases(
    owner: string,
    leases: readonly LeaseRef[],
    leaseMs: number,
  ): Promise<RenewedLease[]> {
    return this.sagaWriter.renewLeases(owner, leases, leaseMs);
  }

  releaseLeases(owner: string, leases: readonly LeaseRef[]): Promise<void> {
    return this.sagaWriter.releaseLeases(owner, leases);
  }

  requestCancel(tenantId: string, sagaId: string): Promise<CancelRequestResult> {
    return this.sagaWriter.requestCancel(tenantId, sagaId);
  }

  // SagaReader
  getSaga(tenantId: string, sagaId: string): Promise<StoredSaga | null> {
    return this.sagaReader.getSaga(tenantId, sagaId);
  }

  findByIdempotencyKey(tenantId: string, key: string): Promise<SagaState | null> {
    return this.sagaReader.findByIdempotencyKey(tenantId, key);
  }

  getEvents(tenantId: string, sagaId: string): Promise<StoredEvent[]> {
    return this.sagaReader.getEvents(tenantId, sagaId);
  }

  listSagas(query: SagaQuery): Promise<SagaPage> {
    return this.sagaReader.listSagas(query);
  }

  countActive(): Promise<{ name: string; count: number }[]> {
    return this.sagaReader.countActive();
  }

  findDueUnsupported(types: readonly SagaType[], limit: number): Promise<UnsupportedSaga[]> {
    return this.sagaReader.findDueUnsupported(types, limit);
  }

  // SignalInbox
  getSignals(sagaId: string): Promise<StoredSignal[]> {
    return this.signalInbox.getSignals(sagaId);
  }

  deliverEvents(
    events: readonly { id: string; tenantId: string; type: string; body: Json }[],
  ): Promise<{ tenantId: string; sagaId: string }[]> {
    return this.signalInbox.deliverEvents(events);
  }

  // OutboxSource
  relayOutbox(limit: number, send: (rows: OutboxRow[]) => Promise<void>): Promise<number> {
    return this.outboxSource.relayOutbox(limit, send);
  }

  // DefinitionStore
  saveDefinition(def: StoredDefinition): Promise<{ created: boolean; document: Json }> {
    return this.definitionStore.saveDefinition(def);
  }

  listDefinitions(tenantId: string | null): Promise<StoredDefinition[]> {
    return this.definitionStore.listDefinitions(tenantId);
  }
}
