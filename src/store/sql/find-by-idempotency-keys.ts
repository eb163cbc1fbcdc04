/** The sagas holding the given idempotency keys. $1: [{tenant_id, key}] (JSON). */
export const FIND_BY_IDEMPOTENCY_KEYS = `
SELECT i.id::text AS id, i.tenant_id, i.idempotency_key, i.state
FROM saga_instances i
JOIN jsonb_to_recordset($1::jsonb) AS k(tenant_id text, key text)
  ON i.tenant_id = k.tenant_id AND i.idempotency_key = k.key`;
