/**
 * Records a cancel request for saga $1 of tenant $2 when it can still be cancelled (running, or
 * failed going forward); an unleased saga is made due at once so that a worker acts on it.
 * Returns the saga's status and lease owner, and whether the request was accepted.
 */
export const REQUEST_CANCEL = `
WITH target AS (
  SELECT id, status, lease_owner, lease_expires_at,
    (status = 'running' OR (status = 'failed' AND state->>'failedPhase' = 'forward')) AS cancellable
  FROM saga_instances WHERE id = $1 AND tenant_id = $2
  FOR UPDATE
), upd AS (
  UPDATE saga_instances i SET
    cancel_requested = true,
    next_run_at = CASE WHEN t.lease_expires_at IS NULL OR t.lease_expires_at <= now() THEN now()
                       ELSE i.next_run_at END
  FROM target t WHERE i.id = t.id AND t.cancellable
  RETURNING i.id
)
SELECT status, lease_owner, cancellable AS accepted FROM target`;
