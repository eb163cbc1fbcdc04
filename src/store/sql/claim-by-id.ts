/**
 * Leases saga $1 of tenant $2 to owner $3 for $4 ms if nobody holds it, its status is in $5
 * (JSON array) and, when $6 is true, it is due.
 */
export const CLAIM_BY_ID = `
UPDATE saga_instances i SET
  lease_owner = $3,
  lease_epoch = i.lease_epoch + 1,
  lease_expires_at = now() + $4 * interval '1 millisecond'
WHERE i.id = $1 AND i.tenant_id = $2
  AND (i.lease_expires_at IS NULL OR i.lease_expires_at <= now())
  AND i.status IN (SELECT jsonb_array_elements_text($5::jsonb))
  AND (NOT $6::boolean OR i.next_run_at <= now())
RETURNING i.id::text AS id, i.state, i.lease_epoch::float8 AS epoch, i.cancel_requested`;
