/**
 * Registers definition $4 (JSON) as ($1 tenant, $2 name, $3 version) unless that version exists;
 * returns the stored document either way (the caller compares: same content = no-op, else 409).
 */
export const SAVE_DEFINITION = `
WITH ins AS (
  INSERT INTO saga_definitions (tenant_id, name, version, document) VALUES ($1, $2, $3, $4::jsonb)
  ON CONFLICT (tenant_id, name, version) DO NOTHING
  RETURNING document, true AS created
)
SELECT document, created FROM ins
UNION ALL
SELECT document, false FROM saga_definitions
WHERE tenant_id = $1 AND name = $2 AND version = $3 AND NOT EXISTS (SELECT 1 FROM ins)`;

/** Registered definitions, of one tenant ($1) or all (null), oldest first. */
export const LIST_DEFINITIONS = `
SELECT tenant_id, name, version, document, (extract(epoch from created_at) * 1000)::float8 AS created_ms
FROM saga_definitions WHERE $1::text IS NULL OR tenant_id = $1
ORDER BY created_at, name, version`;
