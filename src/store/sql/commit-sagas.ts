import { OUTBOX_INSERT, PARENT_SIGNAL, WAITS_SYNC } from "./side-effects.js";

const INPUT = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    id uuid, owner text, epoch bigint, expected int, status text, stream_version int, state jsonb,
    release boolean, lease_ms int, wake_at float8, dormant boolean, outbox boolean, parent_signal jsonb,
    suspends boolean)
)`;

/** The projection update, fenced by lease (owner, epoch, not expired) and expected version. */
function update(withSuspension: boolean): string {
  const signalled = withSuspension
    ? `-- A signal delivered meanwhile must not be slept through.
          WHEN x.suspends AND EXISTS (SELECT 1 FROM saga_inbox b WHERE b.saga_id = i.id
                         AND x.state->'steps'->b.step->>'status' = 'suspended') THEN now()
          `
    : "";
  return `upd AS (
  UPDATE saga_instances i SET
    status = x.status,
    stream_version = x.stream_version,
    state = x.state,
    next_run_at = CASE
      WHEN x.status IN ('running', 'compensating') THEN
        CASE
          ${signalled}WHEN x.dormant THEN NULL
          -- Still running here and already due (for recovery): leave it, so that the update
          -- changes no indexed column and can be HOT.
          WHEN NOT x.release AND x.wake_at IS NULL AND x.status = i.status
               AND i.next_run_at IS NOT NULL AND i.next_run_at <= now() THEN i.next_run_at
          ELSE COALESCE(to_timestamp(x.wake_at / 1000.0), now())
        END
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
  RETURNING i.id, i.tenant_id, i.name, i.cancel_requested
)`;
}

const EVENTS = `evs AS (
  SELECT e.saga_id, e.seq, e.type, e.data, e.at
  FROM jsonb_to_recordset($2::jsonb) AS e(saga_id uuid, seq int, type text, data jsonb, at float8)
  WHERE e.saga_id IN (SELECT id FROM upd)
), ev AS (
  INSERT INTO saga_events (saga_id, seq, type, data, created_at)
  SELECT saga_id, seq, type, data, to_timestamp(at / 1000.0) FROM evs
)`;

/**
 * Group commit: appends events and updates the projections of many sagas in one statement.
 * A saga's part is written only if the writer still holds its lease (owner, epoch, not expired)
 * and the stream is at the expected version — the fencing that stops a stale worker. With it, in
 * the same statement: outbox rows, waits of suspended steps, consumed inbox rows, and the signal
 * of a child saga's end to its parent.
 * $1: [{id, owner, epoch, expected, status, stream_version, state, release, lease_ms, wake_at,
 *       dormant, outbox, parent_signal, suspends}], $2: [{saga_id, seq, type, data, at}] (JSON).
 * Returns the ids written with their cancel flag.
 */
export const COMMIT_SAGAS = `${INPUT}, ${update(true)}, written AS (
  SELECT u.id, u.tenant_id, u.name, x.status, x.state, COALESCE(x.outbox, false) AS outbox, x.parent_signal,
    COALESCE(x.suspends, true) AS suspends
  FROM upd u JOIN input x ON x.id = u.id
), ${EVENTS}, ${OUTBOX_INSERT}, ${WAITS_SYNC}, ${PARENT_SIGNAL}
SELECT id::text AS id, cancel_requested FROM upd`;

/**
 * COMMIT_SAGAS for the common batch — no saga in it writes to the outbox, publishes, has or had
 * a suspended step, or is a child that ended — so only the projection and the events: a smaller
 * statement, cheaper to plan and to run. Same parameters and result.
 */
export const COMMIT_SAGAS_LEAN = `${INPUT}, ${update(false)}, ${EVENTS}
SELECT id::text AS id, cancel_requested FROM upd`;
