import { OUTBOX_INSERT, PARENT_SIGNAL, WAITS_SYNC } from "./side-effects.js";

const INSERT = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    id uuid, tenant_id text, name text, version int, status text, stream_version int, state jsonb,
    idempotency_key text, attributes jsonb, lease_owner text, lease_ms int, wake_at float8,
    dormant boolean, outbox boolean, parent_signal jsonb, suspends boolean, ord int)
), ins AS (
  INSERT INTO saga_instances (id, tenant_id, name, version, status, stream_version, state,
    idempotency_key, attributes, next_run_at, lease_owner, lease_epoch, lease_expires_at)
  SELECT id, tenant_id, name, version, status, stream_version, state, idempotency_key,
    COALESCE(attributes, '{}'::jsonb),
    CASE WHEN status IN ('running', 'compensating') AND NOT COALESCE(dormant, false)
         THEN COALESCE(to_timestamp(wake_at / 1000.0), now()) END,
    lease_owner,
    CASE WHEN lease_owner IS NULL THEN 0 ELSE 1 END,
    CASE WHEN lease_owner IS NULL THEN NULL ELSE now() + lease_ms * interval '1 millisecond' END
  FROM input ORDER BY ord
  ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING id
), evs AS (
  SELECT e.saga_id, e.seq, e.type, e.data, e.at
  FROM jsonb_to_recordset($2::jsonb) AS e(saga_id uuid, seq int, type text, data jsonb, at float8)
  WHERE e.saga_id IN (SELECT id FROM ins)
), ev AS (
  INSERT INTO saga_events (saga_id, seq, type, data, created_at)
  SELECT saga_id, seq, type, data, to_timestamp(at / 1000.0) FROM evs
)`;

/**
 * Inserts a batch of new sagas and their first events in one statement (with their outbox rows,
 * waits, and — for a child that ended at once — the signal to its parent).
 * $1: [{id, tenant_id, name, version, status, stream_version, state, idempotency_key, attributes,
 *       lease_owner, lease_ms, wake_at, dormant, outbox, parent_signal, suspends, ord}],
 * $2: [{saga_id, seq, type, data, at}] (JSON).
 * An idempotency key already taken inserts nothing for that saga; returns the ids inserted.
 */
export const CREATE_SAGAS = `${INSERT}, written AS (
  SELECT x.id, x.tenant_id, x.name, x.status, x.state, COALESCE(x.outbox, false) AS outbox, x.parent_signal,
    COALESCE(x.suspends, true) AS suspends
  FROM input x WHERE x.id IN (SELECT id FROM ins)
), ${OUTBOX_INSERT}, ${WAITS_SYNC}, ${PARENT_SIGNAL}
SELECT id::text AS id FROM ins`;

/** CREATE_SAGAS for a batch with no outbox, publish, suspension or child end (see COMMIT_SAGAS_LEAN). */
export const CREATE_SAGAS_LEAN = `${INSERT}
SELECT id::text AS id FROM ins`;
