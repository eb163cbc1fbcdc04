export const INSERT_AUDIT = `
INSERT INTO saga_audit
  (tenant_id, actor, role, via, address, user_agent, action, saga_id, target, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;

/** A tenant's rows newest first; each filter applies only when its parameter is not null. */
export const LIST_AUDIT = `
SELECT id::text AS id, (extract(epoch FROM at) * 1000)::float8 AS at, tenant_id, actor, role, via,
       address, user_agent, action, saga_id::text AS saga_id, target, status
FROM saga_audit
WHERE tenant_id = $1
  AND ($2::text IS NULL OR actor = $2)
  AND ($3::text IS NULL OR action = $3)
  AND ($4::uuid IS NULL OR saga_id = $4)
  AND ($5::timestamptz IS NULL OR at >= $5)
  AND ($6::timestamptz IS NULL OR at < $6)
  AND ($7::bigint IS NULL OR id < $7)
ORDER BY id DESC
LIMIT $8`;

/** Retention: audit rows older than the cutoff, one batch at a time. */
export const DELETE_OLD_AUDIT = `
DELETE FROM saga_audit WHERE id IN (
  SELECT id FROM saga_audit WHERE at < $1 ORDER BY at LIMIT $2)`;

/**
 * Retention: the events of sagas that finished before the cutoff (one batch of sagas at a time).
 * The saga's row (its state, the read model) stays; its history goes. Failed sagas (an operator
 * may retry them) keep theirs.
 */
export const DELETE_FINISHED_EVENTS = `
WITH done AS (
  SELECT id FROM saga_instances
  WHERE status IN ('completed', 'compensated') AND updated_at < $1
    AND EXISTS (SELECT 1 FROM saga_events e WHERE e.saga_id = saga_instances.id)
  ORDER BY updated_at LIMIT $2
)
DELETE FROM saga_events WHERE saga_id IN (SELECT id FROM done)`;
