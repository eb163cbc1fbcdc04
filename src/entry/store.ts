/**
 * `saga-orchestrator/store`: where sagas are kept (PostgreSQL or embedded PGlite, one schema and
 * one set of migrations for both) and the event store of domain event streams that lives in the
 * same database.
 */
import { ErrorCodes, SagaError } from "../core/errors.js";
import type { EventStore } from "../engine/event-store-port.js";
import type { Store } from "../engine/store-port.js";
import { sqlClientOf } from "../store/sql-client-of.js";
import { SqlEventStore, type EventStoreLimits } from "../store/sql-event-store.js";

/**
 * The `Store` port is the sum of role ports (each part of the engine takes only the role it uses),
 * and these are the types of their methods, for writing a store adapter of your own.
 */
export type {
  Store,
  StoreLifecycle,
  SagaWriter,
  SagaReader,
  SignalInbox,
  OutboxSource,
  DefinitionStore,
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
  ParentSignal,
  RenewedLease,
  SagaPage,
  SagaQuery,
  SagaType,
  StoredDefinition,
  StoredEvent,
  StoredSaga,
  StoredSignal,
  UnsupportedSaga,
} from "../engine/store-port.js";
/** The base class of `PostgresStore` and `PgliteStore` (one SQL implementation of `Store`). */
export type { SqlStore } from "../store/sql-store.js";
/** What `SqlStore` needs from a driver (`pg`'s pool and PGlite both fit behind it). */
export type { SqlClient, SqlQuery } from "../store/sql-client.js";
export { PostgresStore, type PostgresStoreOptions } from "../store/postgres-store.js";
export { PgliteStore, type PgliteStoreOptions } from "../store/pglite-store.js";
export {
  StreamVersionConflictError,
  type AppendResult,
  type EventStore,
  type EventTypeCount,
  type NewEvent,
  type RecordedEvent,
} from "../engine/event-store-port.js";
export type { EventStoreLimits } from "../store/sql-event-store.js";

/**
 * The event store (append-only domain event streams with optimistic concurrency, read by stream
 * or globally in commit order) in the database of a `PostgresStore` or `PgliteStore`, on the same
 * connections. Its table comes with the store's migrations. Throws `SAGA_INVALID_STATE` for a
 * store of another kind.
 * @example
 * const store = await PgliteStore.open();
 * await store.migrate();
 * const events = eventStoreOf(store);
 * await events.append("default", "order-1", [{ type: "order.placed", data: { total: 42 } }]);
 */
export function eventStoreOf(store: Store, limits: EventStoreLimits = {}): EventStore {
  const client = sqlClientOf(store);
  if (!client)
    throw new SagaError(
      ErrorCodes.INVALID_STATE,
      "eventStoreOf needs a PostgresStore or PgliteStore: this store has no SQL database",
      { retryable: false },
    );
  return new SqlEventStore(client, limits);
}
