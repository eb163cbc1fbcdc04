/**
 * Statement fragments shared by the create and commit statements: what a durable write of a
 * saga's events implies besides the events themselves, all in the same statement (and so the
 * same transaction). They read two CTEs the host statement defines:
 * - `written(id, tenant_id, name, status, state, outbox, parent_signal, suspends)`: the sagas
 *   written (`suspends`: the saga has, or had, suspended steps — otherwise waits and inbox are
 *   left alone, which keeps the common checkpoint cheap);
 * - `evs(saga_id, seq, type, data)`: their new events.
 */

/** Lifecycle events (when the saga's `outbox` flag is set) and `publish` messages, to the outbox. */
export const OUTBOX_INSERT = `
ob AS (
  INSERT INTO saga_outbox (event_id, tenant_id, type, key, data)
  SELECT event_id, tenant_id, type, key, data FROM (
    SELECT md5(e.saga_id::text || ':' || e.seq)::uuid AS event_id, w.tenant_id,
      CASE e.type
        WHEN 'SagaStarted' THEN 'saga.started'
        WHEN 'StepCompleted' THEN 'saga.step.completed'
        WHEN 'StepFailed' THEN 'saga.step.failed'
        WHEN 'SagaCompensationStarted' THEN 'saga.compensating'
        WHEN 'SagaCompleted' THEN 'saga.completed'
        WHEN 'SagaCompensated' THEN 'saga.compensated'
        WHEN 'SagaFailed' THEN 'saga.failed'
      END AS type,
      e.saga_id::text AS key,
      jsonb_strip_nulls(jsonb_build_object(
        'sagaId', e.saga_id, 'sagaType', w.name, 'seq', e.seq, 'status', w.status,
        'step', e.data->'step', 'attempt', e.data->'attempt', 'error', e.data->'error',
        'reason', e.data->'reason', 'correlationId', w.state->'correlationId', 'at', e.data->'at')) AS data,
      e.saga_id AS sort_saga, e.seq AS sort_seq, 0 AS sort_sub
    FROM evs e JOIN written w ON w.id = e.saga_id
    WHERE w.outbox AND e.type IN ('SagaStarted', 'StepCompleted', 'StepFailed', 'SagaCompensationStarted',
                                  'SagaCompleted', 'SagaCompensated', 'SagaFailed')
    UNION ALL
    SELECT (m.value->>'id')::uuid, w.tenant_id, m.value->>'type', m.value->>'key', m.value->'data',
      e.saga_id, e.seq, m.ordinality::int
    FROM evs e JOIN written w ON w.id = e.saga_id,
      jsonb_array_elements(e.data->'publish') WITH ORDINALITY m(value, ordinality)
    WHERE e.type = 'StepCompleted' AND jsonb_typeof(e.data->'publish') = 'array'
  ) rows
  -- Positions follow the events' order within each saga, whatever plan the join gets.
  ORDER BY sort_saga, sort_seq, sort_sub
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
