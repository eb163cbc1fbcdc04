/** Extends owner $1's unexpired leases in $2 ([{id, epoch}] JSON) by $3 ms. */
export const RENEW_LEASES = `
UPDATE saga_instances i SET lease_expires_at = now() + $3 * interval '1 millisecond'
FROM jsonb_to_recordset($2::jsonb) AS l(id uuid, epoch bigint)
WHERE i.id = l.id AND i.lease_epoch = l.epoch AND i.lease_owner = $1 AND i.lease_expires_at > now()
RETURNING i.id::text AS id, i.cancel_requested`;
