/**
 * Leases up to $2 due, unleased (or expired) sagas of the types in $3 to owner $1 for $4 ms.
 * SKIP LOCKED lets many workers claim at once without waiting for each other.
 */
export const CLAIM_DUE = `
WITH due AS (
  SELECT i.id FROM saga_instances i
  WHERE i.next_run_at <= now()
    AND (i.lease_expires_at IS NULL OR i.lease_expires_at <= now())
    AND EXISTS (SELECT 1 FROM jsonb_to_recordset($3::jsonb) AS t(name text, version int)
                WHERE t.name = i.name AND t.version = i.version)
  ORDER BY i.next_run_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
UPDATE saga_instances i SET
  lease_owner = $1,
  lease_epoch = i.lease_epoch + 1,
  lease_expires_at = now() + $4 * interval '1 millisecond'
FROM due WHERE i.id = due.id
RETURNING i.id::text AS id, i.state, i.lease_epoch::float8 AS epoch, i.cancel_requested`;
