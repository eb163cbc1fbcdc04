import { ErrorCodes, SagaError, jsonProblemCode } from "../core/errors.js";
import { toJson, type Json, type JsonObject } from "../core/json.js";
import { Limits } from "../core/limits.js";
import {
  StreamVersionConflictError,
  type AppendResult,
  type EventStore,
  type EventTypeCount,
  type NewEvent,
  type RecordedEvent,
} from "../engine/event-store-port.js";
import { uuidv7 } from "../engine/ids.js";
import type { SqlClient } from "./sql-client.js";
import {
  APPEND_EVENTS,
  COUNT_REPLAY,
  LIST_EVENT_TYPES,
  LOCK_TENANT_APPENDS,
  READ_ALL,
  READ_STREAM,
  REPLAY_STREAM,
} from "./sql/event-store.js";

interface EventRow {
  global_position: string | number;
  stream_id: string;
  stream_version: number;
  event_id: string;
  type: string;
  data: Json;
  metadata: JsonObject;
  created_ms: number;
}

const MAX_EVENTS_PER_APPEND = 1_000;
const MAX_READ = 10_000;

/**
 * The EventStore over SQL (PostgreSQL and PGlite), on the same client as the SqlStore so that an
 * append and its outbox rows are one statement in the saga store's database. Its table comes with
 * the store's migrations (`store.migrate()`).
 */
/** Quotas of the event store (defaults in `Limits`). */
export interface EventStoreLimits {
  /** Largest `data` of one event, serialised (bytes). Default 256 KiB. */
  maxEventBytes?: number;
  /** Most events one replay writes. Default 10,000. */
  maxReplayEvents?: number;
}

export class SqlEventStore implements EventStore {
  private readonly maxEventBytes: number;
  private readonly maxReplayEvents: number;

  constructor(
    private readonly sql: SqlClient,
    limits: EventStoreLimits = {},
  ) {
    this.maxEventBytes = limits.maxEventBytes ?? Limits.DEFAULT_MAX_EVENT_DATA_BYTES;
    this.maxReplayEvents = limits.maxReplayEvents ?? Limits.DEFAULT_MAX_REPLAY_EVENTS;
  }

  async append(
    tenantId: string,
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedVersion?: number } = {},
  ): Promise<AppendResult> {
    checkName("stream id", streamId);
    const expected = options.expectedVersion;
    if (expected !== undefined && !(Number.isInteger(expected) && expected >= 0))
      throw invalid("expectedVersion must be an integer >= 0");
    if (events.length === 0 || events.length > MAX_EVENTS_PER_APPEND)
      throw invalid(`append 1 to ${MAX_EVENTS_PER_APPEND} events at a time`);
    const input = events.map((e, i) => {
      checkName("event type", e.type);
      const data = toJson(e.data, { maxBytes: this.maxEventBytes });
      if (!data.ok) {
        const code =
          data.kind === "too_large"
            ? ErrorCodes.SAGA_EVENT_TOO_LARGE
            : jsonProblemCode(data.kind, ErrorCodes.SAGA_INVALID_INPUT);
        throw invalid(`event ${i}: data refused at ${data.path}: ${data.problem}`, code);
      }
      const metadata = toJson(e.metadata ?? {}, { maxBytes: 64 * 1024 });
      if (!metadata.ok)
        throw invalid(
          `event ${i}: metadata refused at ${metadata.path}: ${metadata.problem}`,
          jsonProblemCode(metadata.kind, ErrorCodes.SAGA_INVALID_INPUT),
        );
      if (!isObject(metadata.value)) throw invalid(`event ${i}: metadata must be a JSON object`);
      return { ord: i + 1, id: uuidv7(), type: e.type, data: data.value, metadata: metadata.value };
    });
    const rows = await this.sql.transaction(async (tx) => {
      await tx.query(LOCK_TENANT_APPENDS, [tenantId]);
      return tx.query<Partial<EventRow> & { current_version: number }>(APPEND_EVENTS, [
        tenantId,
        streamId,
        expected ?? null,
        JSON.stringify(input),
      ]);
    });
    const written = rows.filter((r): r is EventRow & { current_version: number } =>
      Boolean(r.event_id),
    );
    if (written.length === 0) {
      throw new StreamVersionConflictError(
        streamId,
        expected ?? 0,
        Number(rows[0]?.current_version),
      );
    }
    const recorded = written.map(toRecorded);
    return { events: recorded, streamVersion: recorded[recorded.length - 1]!.streamVersion };
  }

  async readStream(
    tenantId: string,
    streamId: string,
    options: { fromVersion?: number; limit?: number } = {},
  ): Promise<RecordedEvent[]> {
    const from = options.fromVersion ?? 1;
    const limit = options.limit ?? 1_000;
    if (!Number.isInteger(from) || from < 1) throw invalid("fromVersion must be an integer >= 1");
    checkLimit(limit);
    const rows = await this.sql.query<EventRow>(READ_STREAM, [tenantId, streamId, from, limit]);
    return rows.map(toRecorded);
  }

  async readAll(tenantId: string, afterPosition: number, limit: number): Promise<RecordedEvent[]> {
    if (!Number.isSafeInteger(afterPosition) || afterPosition < 0)
      throw invalid("the position must be an integer >= 0");
    checkLimit(limit);
    const rows = await this.sql.query<EventRow>(READ_ALL, [tenantId, afterPosition, limit]);
    return rows.map(toRecorded);
  }

  async listTypes(tenantId: string): Promise<EventTypeCount[]> {
    const rows = await this.sql.query<{ type: string; count: number; last_ms: number }>(
      LIST_EVENT_TYPES,
      [tenantId],
    );
    return rows.map((r) => ({ type: r.type, count: Number(r.count), lastAt: Number(r.last_ms) }));
  }

  async replay(
    tenantId: string,
    streamId: string,
    options: { fromVersion?: number; asNew?: boolean } = {},
  ): Promise<number> {
    const from = options.fromVersion ?? 1;
    if (!Number.isInteger(from) || from < 1) throw invalid("fromVersion must be an integer >= 1");
    const [counted] = await this.sql.query<{ count: number }>(COUNT_REPLAY, [
      tenantId,
      streamId,
      from,
      this.maxReplayEvents + 1,
    ]);
    if (Number(counted?.count ?? 0) > this.maxReplayEvents)
      throw invalid(
        `a replay writes at most ${this.maxReplayEvents} events; this one would write more (replay from a later version)`,
        ErrorCodes.SAGA_REPLAY_TOO_LARGE,
      );
    const [row] = await this.sql.query<{ count: number }>(REPLAY_STREAM, [
      tenantId,
      streamId,
      from,
      options.asNew === true,
    ]);
    return Number(row?.count ?? 0);
  }
}

function toRecorded(r: EventRow): RecordedEvent {
  return {
    eventId: r.event_id,
    streamId: r.stream_id,
    streamVersion: Number(r.stream_version),
    globalPosition: Number(r.global_position),
    type: r.type,
    data: r.data,
    metadata: r.metadata,
    createdAt: Number(r.created_ms),
  };
}

function checkName(what: string, value: string): void {
  if (typeof value !== "string" || value.length === 0 || value.length > 200)
    throw invalid(`the ${what} must be a string of 1 to 200 characters`);
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_READ)
    throw invalid(`limit must be an integer from 1 to ${MAX_READ}`);
}

function isObject(value: Json): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(message: string, code: string = ErrorCodes.SAGA_INVALID_INPUT): SagaError {
  return new SagaError(code, message, { retryable: false });
}
