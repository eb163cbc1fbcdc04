/** Gives up owner $1's leases in $2 ([{id, epoch}] JSON): the sagas become claimable at once. */
export const RELEASE_LEASES = `
UPDATE saga_instances i SET lease_owner = NULL, lease_expires_at = NULL
FROM jsonb_to_recordset($2::jsonb) AS l(id uuid, epoch bigint)
WHERE i.id = l.id AND i.lease_epoch = l.epoch AND i.lease_owner = $1`;
