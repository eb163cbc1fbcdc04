/** Up to $2 due sagas whose (name, version) is not in $1 ([{name, version}] JSON). */
export const FIND_DUE_UNSUPPORTED = `
SELECT i.id::text AS id, i.name, i.version FROM saga_instances i
WHERE i.next_run_at <= now()
  AND (i.lease_expires_at IS NULL OR i.lease_expires_at <= now())
  AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($1::jsonb) AS t(name text, version int)
                  WHERE t.name = i.name AND t.version = i.version)
ORDER BY i.next_run_at
LIMIT $2`;
