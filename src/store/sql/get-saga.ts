/** One saga's projection, cancel flag and lease owner. $1: id, $2: tenant. */
export const GET_SAGA = `
SELECT state, cancel_requested, lease_owner FROM saga_instances WHERE id = $1 AND tenant_id = $2`;
