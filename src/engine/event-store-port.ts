import { ErrorCodes, SagaError } from "../core/errors.js";
import type { Json, JsonObject } from "../core/json.js";

/**
 * The EventStore port: a tenant's domain events in named streams (numbered 1..n per stream) and
 * one log ordered by global position. Every append also writes the events to the outbox in the
 * same transaction, so the relay sends them to the bus (where triggers and waiting steps see them).
 */
export interface EventStore {
  /**
   * Appends `events` to the stream in order. With `expectedVersion` (0: the stream must not exist
   * yet) the append happens only if the stream is at that version; otherwise nothing is written
   * and it throws `StreamVersionConflictError` (SAGA_VERSION_CONFLICT). Throws SAGA_INVALID_INPUT
   * for an empty list or data that is not JSON.
   */
  append(
    tenantId: string,
    streamId: string,
    events: readonly NewEvent[],
    options?: { expectedVersion?: number },
  ): Promise<AppendResult>;
  /** Events of one stream from `fromVersion` (default 1), oldest first, at most `limit` (default 1000). */
  readStream(
    tenantId: string,
    streamId: string,
    options?: { fromVersion?: number; limit?: number },
  ): Promise<RecordedEvent[]>;
  /**
   * Up to `limit` of the tenant's events after `afterPosition`, in global order. Never skips a row
   * that commits late: a row is returned only once no older transaction can still add one before
   * it, so a reader that continues after the last position it got misses nothing.
   */
  readAll(tenantId: string, afterPosition: number, limit: number): Promise<RecordedEvent[]>;
  /** The event types in the tenant's log, with how many events of each and the latest time. */
  listTypes(tenantId: string): Promise<EventTypeCount[]>;
  /**
   * Writes the stream's events (from `fromVersion`) to the outbox again, so the bus delivers them
   * once more. Default: with their original ids, so consumers that deduplicate on the id (saga
   * triggers do) ignore them. `asNew`: with new ids, so they act as new events. Returns how many.
   */
  replay(
    tenantId: string,
    streamId: string,
    options?: { fromVersion?: number; asNew?: boolean },
  ): Promise<number>;
}

export interface NewEvent {
  type: string;
  data: Json;
  /**
   * Free-form metadata, stored with the event. Its string values travel as bus headers;
   * `correlation_id` becomes the `x-correlation-id` header.
   */
  metadata?: JsonObject;
}

export interface RecordedEvent {
  eventId: string;
  streamId: string;
  streamVersion: number;
  globalPosition: number;
  type: string;
  data: Json;
  metadata: JsonObject;
  /** Epoch milliseconds. */
  createdAt: number;
}

export interface AppendResult {
  /** The events written, in order. */
  events: RecordedEvent[];
  /** The stream's version after the append. */
  streamVersion: number;
}

export interface EventTypeCount {
  type: string;
  count: number;
  /** Epoch milliseconds of the latest event of this type. */
  lastAt: number;
}

/** An append with an expected version found the stream elsewhere; nothing was written. */
export class StreamVersionConflictError extends SagaError {
  override readonly name = "StreamVersionConflictError";
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly currentVersion: number,
  ) {
    super(
      ErrorCodes.SAGA_VERSION_CONFLICT,
      `stream ${JSON.stringify(streamId)} is at version ${currentVersion}, not the expected ${expectedVersion}`,
      {
        retryable: false,
        details: {
          stream_id: streamId,
          expected_version: expectedVersion,
          current_version: currentVersion,
        },
      },
    );
  }
}
