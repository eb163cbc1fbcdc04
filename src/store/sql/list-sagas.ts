/**
 * One page of a tenant's sagas, newest first, with optional filters (null = no filter):
 * $1 tenant, $2 statuses (JSON array), $3 names (JSON array), $4 created at or after,
 * $5 created before, $6 attributes that must match (JSON object), $7/$8 cursor (created_at, id)
 * of the last row of the previous page, $9 page size, $10 updated at or after, $11 updated before
 * (a finished saga's updated_at is when it ended).
 */
export const LIST_SAGAS = `
SELECT i.state,
  to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key,
  i.id::text AS id
FROM saga_instances i
WHERE i.tenant_id = $1
  AND ($2::jsonb IS NULL OR i.status IN (SELECT jsonb_array_elements_text($2::jsonb)))
  AND ($3::jsonb IS NULL OR i.name IN (SELECT jsonb_array_elements_text($3::jsonb)))
  AND ($4::timestamptz IS NULL OR i.created_at >= $4::timestamptz)
  AND ($5::timestamptz IS NULL OR i.created_at < $5::timestamptz)
  AND i.attributes @> $6::jsonb
  AND ($7::timestamptz IS NULL OR (i.created_at, i.id) < ($7::timestamptz, $8::uuid))
  AND ($10::timestamptz IS NULL OR i.updated_at >= $10::timestamptz)
  AND ($11::timestamptz IS NULL OR i.updated_at < $11::timestamptz)
ORDER BY i.created_at DESC, i.id DESC
LIMIT $9`;
