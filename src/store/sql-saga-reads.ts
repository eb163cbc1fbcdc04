import { ErrorCodes, SagaError } from "../core/errors.js";
import type { SagaEvent } from "../core/events.js";
import type { SagaState } from "../core/state.js";
import type {
  SagaPage,
  SagaQuery,
  SagaType,
  StoredEvent,
  StoredSaga,
  UnsupportedSaga,
} from "../engine/store-port.js";
import { COUNT_ACTIVE } from "./sql/count-active.js";
import { LIST_SAGAS } from "./sql/list-sagas.js";
import { unpackState, type StoredState } from "./state-codec.js";
import { FIND_BY_IDEMPOTENCY_KEYS } from "./sql/find-by-idempotency-keys.js";
import { FIND_DUE_UNSUPPORTED } from "./sql/find-due-unsupported.js";
import { GET_EVENTS } from "./sql/get-events.js";
import { GET_SAGA } from "./sql/get-saga.js";
import type { SqlClient } from "./sql-client.js";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reading sagas (the SagaReader port): one saga, its events, pages of a tenant's sagas, counts. */
export class SqlSagaReads {
  constructor(private readonly sql: SqlClient) {}

  async findDueUnsupported(types: readonly SagaType[], limit: number): Promise<UnsupportedSaga[]> {
    const rows = await this.sql.query<{ id: string; name: string; version: number }>(
      FIND_DUE_UNSUPPORTED,
      [JSON.stringify(types.map((t) => ({ name: t.name, version: t.version }))), limit],
    );
    return rows.map((r) => ({ sagaId: r.id, name: r.name, version: Number(r.version) }));
  }

  async getSaga(tenantId: string, sagaId: string): Promise<StoredSaga | null> {
    if (!UUID.test(sagaId)) return null;
    const [row] = await this.sql.query<{
      state: StoredState;
      cancel_requested: boolean;
      lease_owner: string | null;
    }>(GET_SAGA, [sagaId, tenantId]);
    return row
      ? {
          state: unpackState(row.state),
          cancelRequested: row.cancel_requested,
          leaseOwner: row.lease_owner,
        }
      : null;
  }

  async findByIdempotencyKey(tenantId: string, key: string): Promise<SagaState | null> {
    const [row] = await this.sql.query<{ state: StoredState }>(FIND_BY_IDEMPOTENCY_KEYS, [
      JSON.stringify([{ tenant_id: tenantId, key }]),
    ]);
    return row ? unpackState(row.state) : null;
  }

  async getEvents(tenantId: string, sagaId: string): Promise<StoredEvent[]> {
    if (!UUID.test(sagaId)) return [];
    const rows = await this.sql.query<{ saga_id: string; seq: number; data: SagaEvent }>(
      GET_EVENTS,
      [sagaId, tenantId],
    );
    return rows.map((r) => ({ sagaId: r.saga_id, seq: Number(r.seq), event: r.data }));
  }

  async listSagas(query: SagaQuery): Promise<SagaPage> {
    const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor);
    const rows = await this.sql.query<{ state: StoredState; created_key: string; id: string }>(
      LIST_SAGAS,
      [
        query.tenantId,
        query.statuses ? [...query.statuses] : null,
        query.names ? [...query.names] : null,
        query.createdAfter === undefined ? null : sqlTime(query.createdAfter, "createdAfter"),
        query.createdBefore === undefined ? null : sqlTime(query.createdBefore, "createdBefore"),
        JSON.stringify(query.attributes ?? {}),
        cursor?.createdAt ?? null,
        cursor?.id ?? null,
        query.limit + 1,
        query.updatedAfter ?? null,
        query.updatedBefore ?? null,
      ],
    );
    const items = rows.slice(0, query.limit);
    const last = items[items.length - 1];
    const next = rows.length > query.limit && last ? encodeCursor(last.created_key, last.id) : null;
    return { items: items.map((r) => unpackState(r.state)), next };
  }

  async countActive(): Promise<{ name: string; count: number }[]> {
    const rows = await this.sql.query<{ name: string; count: number }>(COUNT_ACTIVE);
    return rows.map((r) => ({ name: r.name, count: Number(r.count) }));
  }
}

/** Thrown for a cursor that was not made by `listSagas` (the API answers 400). */
export class InvalidCursorError extends SagaError {
  constructor() {
    super(ErrorCodes.SAGA_INVALID_INPUT, "the cursor is not one this server issued", {
      retryable: false,
    });
  }
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id, extra] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  if (
    extra !== undefined ||
    !createdAt ||
    !id ||
    !UUID.test(id) ||
    !CURSOR_TIME.test(createdAt) ||
    storableTime(createdAt) === null
  ) {
    throw new InvalidCursorError();
  }
  return { createdAt, id };
}

/** The form of `created_key` (list-sagas.ts): microseconds, UTC. */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Years 1 to 9999: what both `Date` and PostgreSQL's timestamptz hold. */
const MIN_TIME_MS = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const MAX_TIME_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/** A time from a query as ISO text PostgreSQL accepts, or null (unreadable or out of range). */
function storableTime(text: string): string | null {
  const ms = Date.parse(text);
  if (Number.isNaN(ms) || ms < MIN_TIME_MS || ms > MAX_TIME_MS) return null;
  return new Date(ms).toISOString();
}

/** As `storableTime`, or a 400-class error naming the filter: a date never makes a read fail. */
function sqlTime(text: string, what: string): string {
  const time = storableTime(text);
  if (time === null)
    throw new SagaError(
      ErrorCodes.SAGA_INVALID_INPUT,
      `${what} must be a date-time between years 1 and 9999 (got ${JSON.stringify(text.slice(0, 64))})`,
      { retryable: false },
    );
  return time;
}
