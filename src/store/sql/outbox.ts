/**
 * The relay's lock: one relay at a time across processes, for the length of one batch. Keyed by
 * schema, so that deployments in different schemas of one database do not wait for each other.
 */
export const TRY_RELAY_LOCK = `SELECT pg_try_advisory_xact_lock(7243912, hashtext(current_schema())) AS locked`;

/** Up to $1 outbox rows in commit order (position; a late commit is simply read next time). */
export const READ_OUTBOX = `
SELECT position, event_id::text AS event_id, tenant_id, type, key, data, headers,
  (extract(epoch from created_at) * 1000)::float8 AS created_ms
FROM saga_outbox ORDER BY position LIMIT $1`;

/** Removes the rows sent. $1: positions (JSON array). */
export const DELETE_OUTBOX = `
DELETE FROM saga_outbox WHERE position IN (SELECT value::bigint FROM jsonb_array_elements_text($1::jsonb))`;
