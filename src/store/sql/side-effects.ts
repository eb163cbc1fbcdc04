/**
 * Statement fragments shared by the create and commit statements: what a durable write of a
 * saga's events implies besides the events themselves, all in the same statement (and so the
 * same transaction). They read two CTEs the host statement defines:
 * - `written(id, tenant_id, name, status, state, outbox, parent_signal, suspends)`: the sagas
 *   written (`suspends`: the saga has, or had, suspended steps — otherwise waits and inbox are
 *   left alone, which keeps the common checkpoint cheap);
 * - `evs(saga_id, seq, type, data)`: their new events.
 */

/**
 * Outbox rows, built by the writer (see outbox-rows.ts) and passed as $3:
 * [{saga_id, seq, sub, event_id, tenant_id, type, key, data, headers?}]. Only the rows of sagas written
 * are inserted (a fenced-out saga writes nothing), in the events' order within each saga.
 */
export const OUTBOX_INSERT = `
ob AS (
  INSERT INTO saga_outbox (event_id, tenant_id, type, key, data, headers)
  SELECT o.event_id, o.tenant_id, o.type, o.key, o.data, COALESCE(o.headers, '{}'::jsonb)
  FROM jsonb_to_recordset($3::jsonb) AS o(saga_id uuid, seq int, sub int, event_id uuid,
    tenant_id text, type text, key text, data jsonb, headers jsonb)
  WHERE o.saga_id IN (SELECT id FROM written)
  ORDER BY o.saga_id, o.seq, o.sub
)`;

/** Waits of steps suspended in the final state are registered; all others are dropped. */
export const WAITS_SYNC = `
waits_add AS (
  INSERT INTO saga_waits (saga_id, step, tenant_id, topic, match_path, match_key)
  SELECT e.saga_id, e.data->>'step', w.tenant_id, e.data->'wait'->>'topic', e.data->'wait'->>'path',
    e.data->'wait'->>'key'
  FROM evs e JOIN written w ON w.id = e.saga_id
  WHERE w.suspends AND e.type = 'StepSuspended' AND jsonb_typeof(e.data->'wait') = 'object'
    AND w.state->'steps'->(e.data->>'step')->>'status' = 'suspended'
  ON CONFLICT (saga_id, step) DO UPDATE SET topic = EXCLUDED.topic, match_path = EXCLUDED.match_path,
    match_key = EXCLUDED.match_key
), waits_drop AS (
  DELETE FROM saga_waits sw USING written w
  WHERE w.suspends AND sw.saga_id = w.id AND COALESCE(w.state->'steps'->sw.step->>'status', '') <> 'suspended'
), inbox_drop AS (
  DELETE FROM saga_inbox b USING written w
  WHERE w.suspends AND b.saga_id = w.id AND COALESCE(w.state->'steps'->b.step->>'status', '') <> 'suspended'
)`;

/** A child saga that ended signals the parent's step and wakes the parent. */
export const PARENT_SIGNAL = `
child_end AS (
  INSERT INTO saga_inbox (id, saga_id, step, payload, error)
  SELECT md5(w.id::text || ':ended:' || (w.state->>'seq'))::uuid, (w.state->'parent'->>'sagaId')::uuid,
    w.state->'parent'->>'step', w.parent_signal->'payload', w.parent_signal->'error'
  FROM written w
  WHERE jsonb_typeof(w.parent_signal) = 'object' AND jsonb_typeof(w.state->'parent') = 'object'
  ON CONFLICT (id) DO NOTHING
  RETURNING saga_id
), parent_wake AS (
  UPDATE saga_instances p SET next_run_at = now()
  WHERE p.id IN (SELECT saga_id FROM child_end) AND p.status = 'running'
)`;
