/** One saga's event stream in order, scoped by tenant. $1: id, $2: tenant. */
export const GET_EVENTS = `
SELECT e.saga_id::text AS saga_id, e.seq, e.data
FROM saga_events e JOIN saga_instances i ON i.id = e.saga_id
WHERE e.saga_id = $1 AND i.tenant_id = $2
ORDER BY e.seq`;
