/** Sagas running or compensating, by type (all tenants): for the `saga_running_current` gauge. */
export const COUNT_ACTIVE = `
SELECT name, count(*)::int AS count
FROM saga_instances
WHERE next_run_at IS NOT NULL AND status IN ('running', 'compensating')
GROUP BY name`;
