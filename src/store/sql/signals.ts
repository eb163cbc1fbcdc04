/** Unconsumed deliveries to a saga's suspended steps. $1: saga id. */
export const GET_SIGNALS = `
SELECT id::text AS id, step, payload, error FROM saga_inbox WHERE saga_id = $1 ORDER BY created_at, id`;

/**
 * Delivers event $1 (id) of tenant $2, type $3, body $4 (JSON) to every step waiting for it —
 * same tenant and type, and the body's value at the wait's path equal to its key — and wakes
 * those sagas. A repeated delivery of the same event inserts nothing new.
 */
export const DELIVER_EVENT = `
WITH matched AS (
  SELECT w.saga_id, w.step FROM saga_waits w
  WHERE w.tenant_id = $2 AND w.topic = $3
    AND ($4::jsonb #>> string_to_array(w.match_path, '.')) = w.match_key
), delivered AS (
  INSERT INTO saga_inbox (id, saga_id, step, payload)
  SELECT md5($1 || ':' || m.saga_id::text || ':' || m.step)::uuid, m.saga_id, m.step, $4::jsonb FROM matched m
  ON CONFLICT (id) DO NOTHING
  RETURNING saga_id
), woken AS (
  UPDATE saga_instances i SET next_run_at = now()
  WHERE i.id IN (SELECT saga_id FROM delivered) AND i.status = 'running'
  RETURNING i.id
)
SELECT DISTINCT saga_id::text AS saga_id FROM delivered`;
