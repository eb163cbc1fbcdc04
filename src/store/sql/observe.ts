/** Sagas with a step waiting for an event, by type (all tenants): `saga_waiting_current`. */
export const COUNT_WAITING = `
SELECT i.name, count(DISTINCT w.saga_id)::int AS count
FROM saga_waits w JOIN saga_instances i ON i.id = w.saga_id
GROUP BY i.name`;

/** Rows not yet relayed and the age of the oldest: `saga_outbox_pending`, relay lag. */
export const OUTBOX_STATS = `
SELECT count(*)::int AS pending,
       COALESCE(EXTRACT(EPOCH FROM (now() - min(created_at))), 0)::float8 AS age
FROM saga_outbox`;
