/** Writes secret ($1 tenant, $2 name) = $3 (sealed); returns whether the row is new. */
export const PUT_SECRET = `
INSERT INTO saga_tenant_secrets (tenant_id, name, sealed) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, name) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = now()
RETURNING (xmax = 0) AS created`;

/** Deletes secret ($1 tenant, $2 name); returns the deleted name (none: no such secret). */
export const DELETE_SECRET = `
DELETE FROM saga_tenant_secrets WHERE tenant_id = $1 AND name = $2 RETURNING name`;

/** Names of a tenant's ($1) secrets, never the values. */
export const LIST_SECRETS = `
SELECT name, (extract(epoch from updated_at) * 1000)::float8 AS updated_ms
FROM saga_tenant_secrets WHERE tenant_id = $1 ORDER BY name`;

/** The sealed value of secret ($1 tenant, $2 name). */
export const GET_SECRET = `
SELECT sealed FROM saga_tenant_secrets WHERE tenant_id = $1 AND name = $2`;
