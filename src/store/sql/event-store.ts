/**
 * Statements of the event store (`event_store`, migration 0004). Appends take the tenant's
 * append lock first (`LOCK_TENANT_APPENDS`, held until commit), so that within a tenant the
 * positions, the transaction ids and the commit order of appends all agree: together with the
 * snapshot horizon of `READ_ALL`, a reader following the log by position never skips a row.
 */

/** Serialises a tenant's appends until the transaction ends. $1: tenant id. */
export const LOCK_TENANT_APPENDS = `SELECT pg_advisory_xact_lock(7243911, hashtext($1))`;

/** What the bus carries as headers: string metadata, the correlation id, the stream and version. */
const busHeaders = (e: string) => `
  COALESCE((SELECT jsonb_object_agg(m.key, m.value #>> '{}') FROM jsonb_each(${e}.metadata) m
            WHERE jsonb_typeof(m.value) = 'string'), '{}'::jsonb)
  || CASE WHEN jsonb_typeof(${e}.metadata->'correlation_id') = 'string'
       THEN jsonb_build_object('x-correlation-id', ${e}.metadata->>'correlation_id') ELSE '{}'::jsonb END
  || jsonb_build_object('x-stream-id', ${e}.stream_id, 'x-stream-version', ${e}.stream_version::text)`;

const EVENT_COLUMNS = `global_position, stream_id, stream_version, event_id::text AS event_id, type,
  data, metadata, (extract(epoch from created_at) * 1000)::float8 AS created_ms`;

/**
 * Appends events to a stream when it is at the expected version (or always, with none), and
 * writes them to the outbox in the same statement. $1 tenant, $2 stream, $3 expected version or
 * null, $4 [{ord, id, type, data, metadata}] (JSON, ord from 1). Returns the version found
 * (`current_version`) and one row per event written (none when the version did not match).
 */
export const APPEND_EVENTS = `
WITH cur AS (
  SELECT COALESCE(max(stream_version), 0) AS v FROM event_store WHERE tenant_id = $1 AND stream_id = $2
), input AS (
  SELECT x.ord, x.id, x.type, COALESCE(x.data, 'null'::jsonb) AS data,
    COALESCE(x.metadata, '{}'::jsonb) AS metadata
  FROM jsonb_to_recordset($4::jsonb) AS x(ord int, id uuid, type text, data jsonb, metadata jsonb)
), ins AS (
  INSERT INTO event_store (tenant_id, stream_id, stream_version, event_id, type, data, metadata)
  SELECT $1, $2, c.v + i.ord, i.id, i.type, i.data, i.metadata
  FROM cur c, input i
  WHERE $3::int IS NULL OR c.v = $3::int
  ORDER BY i.ord
  RETURNING global_position, stream_id, stream_version, event_id, type, data, metadata, created_at
), ob AS (
  INSERT INTO saga_outbox (event_id, tenant_id, type, key, data, headers, created_at)
  SELECT e.event_id, $1, e.type, e.stream_id, e.data, ${busHeaders("e")}, e.created_at
  FROM ins e ORDER BY e.stream_version
)
SELECT c.v AS current_version, e.global_position, e.stream_id, e.stream_version,
  e.event_id::text AS event_id, e.type, e.data, e.metadata,
  (extract(epoch from e.created_at) * 1000)::float8 AS created_ms
FROM cur c LEFT JOIN ins e ON true
ORDER BY e.stream_version`;

/** A stream's events from version $3, at most $4. $1 tenant, $2 stream. */
export const READ_STREAM = `
SELECT ${EVENT_COLUMNS} FROM event_store
WHERE tenant_id = $1 AND stream_id = $2 AND stream_version >= $3
ORDER BY stream_version LIMIT $4`;

/**
 * Up to $3 of tenant $1's events after position $2, in position order, never past a row that an
 * open transaction could still precede: a transaction in progress at this snapshot that writes
 * to `event_store` (it holds its write lock now, or it ended since the snapshot and so might have)
 * is a horizon, and the page stops before the first visible row written by a transaction as new
 * as that or newer. This is `tx_id < pg_snapshot_xmin(pg_current_snapshot())` narrowed to the
 * event store's writers: a long transaction elsewhere (another table, another database) does not
 * hold the log back.
 */
export const READ_ALL = `
WITH snap AS (
  SELECT pg_current_snapshot() AS s
), writers AS (
  SELECT t.transactionid::text::bigint AS xid32
  FROM pg_locks r JOIN pg_locks t ON t.pid = r.pid
  WHERE r.locktype = 'relation' AND r.relation = 'event_store'::regclass
    AND r.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND r.mode = 'RowExclusiveLock' AND r.granted
    AND t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock' AND t.granted
), horizon AS (
  SELECT min(x) AS xmin FROM snap, pg_snapshot_xip(snap.s) AS x
  WHERE pg_xact_status(x) <> 'in progress'
     OR (x::text::numeric % 4294967296)::bigint IN (SELECT xid32 FROM writers)
), pending AS (
  SELECT min(s.global_position) AS p FROM event_store s, horizon h
  WHERE s.tenant_id = $1 AND s.global_position > $2 AND s.tx_id >= h.xmin
)
SELECT ${EVENT_COLUMNS} FROM event_store s, pending
WHERE s.tenant_id = $1 AND s.global_position > $2
  AND (pending.p IS NULL OR s.global_position < pending.p)
ORDER BY s.global_position LIMIT $3`;

/** Tenant $1's event types with their counts and latest times. */
export const LIST_EVENT_TYPES = `
SELECT type, count(*)::int AS count, (extract(epoch from max(created_at)) * 1000)::float8 AS last_ms
FROM event_store WHERE tenant_id = $1 GROUP BY type ORDER BY type`;

/**
 * Writes tenant $1's stream $2 from version $3 to the outbox again, with the original event ids
 * (or new ones when $4 is true), the original times, and an `x-replay-of` header.
 * Returns how many rows it wrote.
 */
export const REPLAY_STREAM = `
WITH src AS (
  SELECT * FROM event_store WHERE tenant_id = $1 AND stream_id = $2 AND stream_version >= $3
), ob AS (
  INSERT INTO saga_outbox (event_id, tenant_id, type, key, data, headers, created_at)
  SELECT CASE WHEN $4::boolean THEN gen_random_uuid() ELSE e.event_id END, e.tenant_id, e.type,
    e.stream_id, e.data, ${busHeaders("e")} || jsonb_build_object('x-replay-of', e.event_id::text),
    e.created_at
  FROM src e ORDER BY e.stream_version
  RETURNING 1
)
SELECT count(*)::int AS count FROM ob`;

/** How many of a stream's events a replay from $3 would write, counting at most $4 of them. */
export const COUNT_REPLAY = `
SELECT count(*)::int AS count FROM (
  SELECT 1 FROM event_store WHERE tenant_id = $1 AND stream_id = $2 AND stream_version >= $3
  LIMIT $4
) AS capped`;
