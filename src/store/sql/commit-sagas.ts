/**
 * Group commit: appends events and updates the projections of many sagas in one statement.
 * A saga's part is written only if the writer still holds its lease (owner, epoch, not expired)
 * and the stream is at the expected version — the fencing that stops a stale worker.
 * $1: [{id, owner, epoch, expected, status, stream_version, state, release, lease_ms, wake_at}],
 * $2: [{saga_id, seq, type, data, at}] (JSON). Returns the ids written.
 */
export const COMMIT_SAGAS = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    id uuid, owner text, epoch bigint, expected int, status text, stream_version int, state jsonb,
    release boolean, lease_ms int, wake_at float8)
), upd AS (
  UPDATE saga_instances i SET
    status = x.status,
    stream_version = x.stream_version,
    state = x.state,
    next_run_at = CASE
      WHEN x.status IN ('running', 'compensating') THEN COALESCE(to_timestamp(x.wake_at / 1000.0), now())
      WHEN x.status = 'failed' AND i.cancel_requested AND x.state->>'failedPhase' = 'forward' THEN now()
    END,
    cancel_requested = i.cancel_requested
      AND (x.status = 'running' OR (x.status = 'failed' AND x.state->>'failedPhase' = 'forward')),
    lease_owner = CASE WHEN x.release THEN NULL ELSE i.lease_owner END,
    lease_expires_at = CASE WHEN x.release THEN NULL ELSE now() + x.lease_ms * interval '1 millisecond' END,
    updated_at = now()
  FROM input x
  WHERE i.id = x.id AND i.lease_owner = x.owner AND i.lease_epoch = x.epoch
    AND i.lease_expires_at > now() AND i.stream_version = x.expected
  RETURNING i.id, i.cancel_requested
), ev AS (
  INSERT INTO saga_events (saga_id, seq, type, data, created_at)
  SELECT e.saga_id, e.seq, e.type, e.data, to_timestamp(e.at / 1000.0)
  FROM jsonb_to_recordset($2::jsonb) AS e(saga_id uuid, seq int, type text, data jsonb, at float8)
  WHERE e.saga_id IN (SELECT id FROM upd)
)
SELECT id::text AS id, cancel_requested FROM upd`;
