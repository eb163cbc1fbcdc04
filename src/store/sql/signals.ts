/** Unconsumed deliveries to a saga's suspended steps. $1: saga id. */
export const GET_SIGNALS = `
SELECT id::text AS id, step, payload, error FROM saga_inbox WHERE saga_id = $1 ORDER BY created_at, id`;

/**
 * Delivers the events in $1 ([{id, tenant_id, type, body, ord}], JSON) to every step waiting for
 * one — same tenant and type, and the body's value at the wait's path equal to its key — and
 * wakes those sagas. Inbox rows keep the events' order (`ord`) in created_at; a repeated delivery
 * of the same event inserts nothing new. Returns the sagas delivered to, with their tenant.
 */
export const DELIVER_EVENTS = `
WITH ev AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS e(id text, tenant_id text, type text, body jsonb, ord int)
), matched AS (
  SELECT ev.id AS event_id, ev.ord, ev.body, w.tenant_id, w.saga_id, w.step
  FROM ev JOIN saga_waits w ON w.tenant_id = ev.tenant_id AND w.topic = ev.type
    AND (ev.body #>> string_to_array(w.match_path, '.')) = w.match_key
), delivered AS (
  INSERT INTO saga_inbox (id, saga_id, step, payload, created_at)
  SELECT md5(m.event_id || ':' || m.saga_id::text || ':' || m.step)::uuid, m.saga_id, m.step, m.body,
    now() + m.ord * interval '1 microsecond'
  FROM matched m ORDER BY m.ord
  ON CONFLICT (id) DO NOTHING
  RETURNING saga_id
), woken AS (
  UPDATE saga_instances i SET next_run_at = now()
  WHERE i.id IN (SELECT saga_id FROM delivered) AND i.status = 'running'
)
SELECT DISTINCT d.saga_id::text AS saga_id, m.tenant_id
FROM delivered d JOIN matched m ON m.saga_id = d.saga_id`;
