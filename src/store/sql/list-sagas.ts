import { PLAN_PER_CALL } from "../sql-client.js";

/**
 * One page of a tenant's sagas, newest first, with optional filters (null = no filter):
 * $1 tenant, $2 statuses (text[]), $3 names (text[]), $4 created at or after,
 * $5 created before, $6 attributes that must match (JSON object, `{}` = none), $7/$8 cursor
 * (created_at, id) of the last row of the previous page, $9 page size, $10 updated at or after,
 * $11 updated before (a finished saga's updated_at is when it ended).
 *
 * Planned for its values on every call (PLAN_PER_CALL): PostgreSQL then folds away the filters
 * that are null, and a filter that is set becomes an index condition. A single status or name is
 * written as `=` (the CASE folds to it): `= ANY(...)` on an index's second column gives up the
 * index order (PostgreSQL 15), so the newest-first page would be sorted from every match. The
 * attributes go to the GIN index only when there are some. One plan kept for all calls (a
 * prepared statement's generic plan) would scan a big tenant's whole index for a business key.
 *
 * `updated before` also bounds created_at: a saga is never updated before it is created, so the
 * newest-first index scan starts at that time instead of reading every saga created since (a
 * finished saga's updated_at is minutes after its created_at, not days). Both are the database's
 * now() of their transactions; the hour of slack covers a transaction that began before the saga's
 * creating one committed, and a server clock stepped back by less than that.
 */
export const LIST_SAGAS = `${PLAN_PER_CALL}
SELECT i.state,
  to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key,
  i.id::text AS id
FROM saga_instances i
WHERE i.tenant_id = $1
  AND ($2::text[] IS NULL OR CASE WHEN cardinality($2::text[]) = 1
         THEN i.status = ($2::text[])[1] ELSE i.status = ANY($2::text[]) END)
  AND ($3::text[] IS NULL OR CASE WHEN cardinality($3::text[]) = 1
         THEN i.name = ($3::text[])[1] ELSE i.name = ANY($3::text[]) END)
  AND ($4::timestamptz IS NULL OR i.created_at >= $4::timestamptz)
  AND ($5::timestamptz IS NULL OR i.created_at < $5::timestamptz)
  AND ($6::jsonb = '{}'::jsonb OR i.attributes @> $6::jsonb)
  AND ($7::timestamptz IS NULL OR (i.created_at, i.id) < ($7::timestamptz, $8::uuid))
  AND ($10::timestamptz IS NULL OR i.updated_at >= $10::timestamptz)
  AND ($11::timestamptz IS NULL OR i.updated_at < $11::timestamptz)
  AND ($11::timestamptz IS NULL OR i.created_at < $11::timestamptz + interval '1 hour')
ORDER BY i.created_at DESC, i.id DESC
LIMIT $9`;
