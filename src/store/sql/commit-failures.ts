/** Why writes were refused: the current version and lease of sagas $1 (JSON array of ids). */
export const COMMIT_FAILURES = `
SELECT i.id::text AS id, i.stream_version, i.lease_owner, i.lease_epoch::float8 AS epoch,
  (i.lease_expires_at IS NOT NULL AND i.lease_expires_at > now()) AS lease_live
FROM saga_instances i
WHERE i.id IN (SELECT value::uuid FROM jsonb_array_elements_text($1::jsonb))`;
