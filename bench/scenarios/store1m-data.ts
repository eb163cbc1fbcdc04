import pg from "pg";

/**
 * The data of store-1m, generated in SQL (generate_series) into a migrated database: `sagas`
 * finished sagas with 10 events each, created over the 30 days before now, saga number s
 * (1 = oldest) in physical order, as a store that grew by writing them. Every value is a
 * function of s, so two runs hold the same rows (but for now()).
 *
 * - tenant: `small` for every 200th saga (0.5 %), else `default`.
 * - type (s % 1000): checkout 40 %, refund 25 %, shipment 20 %, invoice 13 %, gdpr_export 1.9 %,
 *   legacy_import 0.1 %.
 * - status (a hash of s, independent of the type): completed 90 %, compensated 6 %, failed 4 %.
 * - attributes: orderId `o-<s>` (unique: the business key), customerId `c-<s % 50000>`
 *   (20 sagas each), region (s % 10): eu 50 %, us 30 %, apac 10 %, latam 10 %.
 * - state: the packed state (state-codec.ts) of a 4-step saga, as the API renders it.
 */
export const STORE1M_TYPES = [
  "checkout",
  "refund",
  "shipment",
  "invoice",
  "gdpr_export",
  "legacy_import",
];
export const STORE1M_DAYS = 30;

const SAGA_ROWS = `
WITH g AS (
  SELECT s,
    md5('s1m' || s)::uuid AS id,
    CASE WHEN s % 200 = 0 THEN 'small' ELSE 'default' END AS tenant,
    CASE WHEN s % 100 < 40 THEN 'checkout' WHEN s % 100 < 65 THEN 'refund'
         WHEN s % 100 < 85 THEN 'shipment' WHEN s % 100 < 98 THEN 'invoice'
         WHEN s % 1000 < 999 THEN 'gdpr_export' ELSE 'legacy_import' END AS name,
    CASE WHEN abs(hashint4(s)) % 100 < 90 THEN 'completed'
         WHEN abs(hashint4(s)) % 100 < 96 THEN 'compensated' ELSE 'failed' END AS status,
    now() - make_interval(days => ${STORE1M_DAYS})
      + make_interval(secs => s * ${STORE1M_DAYS} * 86400.0 / $1::int) AS created
  FROM generate_series(1, $1::int) AS s
), t AS (
  SELECT g.*,
    created + make_interval(secs => 1 + s % 60) AS ended,
    (extract(epoch FROM created) * 1000)::bigint AS c_ms,
    jsonb_build_object('orderId', 'o-' || s, 'customerId', 'c-' || (s % 50000),
      'region', CASE WHEN s % 10 < 5 THEN 'eu' WHEN s % 10 < 8 THEN 'us'
                     WHEN s % 10 < 9 THEN 'apac' ELSE 'latam' END) AS attrs
  FROM g
)
INSERT INTO saga_instances (id, tenant_id, name, version, status, stream_version, state,
                            attributes, created_at, updated_at)
SELECT id, tenant, name, 1, status, 10,
  jsonb_build_object(
    'id', id, 'tenantId', tenant, 'name', name, 'version', 1,
    'input', jsonb_build_object('orderId', 'o-' || s, 'amount', s % 1000),
    'attributes', attrs, 'startedAt', c_ms, 'status', status,
    'updatedAt', c_ms + (1 + s % 60) * 1000, 'endedAt', c_ms + (1 + s % 60) * 1000,
    'seq', 10,
    'completionOrder', CASE status WHEN 'completed'
      THEN '["reserve","charge","ship","notify"]'::jsonb ELSE '["reserve","charge"]'::jsonb END,
    'steps', jsonb_build_object(
      'reserve', jsonb_build_object('status',
        CASE status WHEN 'completed' THEN 'completed' ELSE 'compensated' END,
        'attempts', 1, 'result', jsonb_build_object('reservation', 'r-' || s),
        'startedAt', c_ms, 'endedAt', c_ms + 100),
      'charge', jsonb_build_object('status',
        CASE status WHEN 'completed' THEN 'completed' WHEN 'compensated' THEN 'compensated'
                    ELSE 'compensation_failed' END,
        'attempts', 1, 'result', jsonb_build_object('payment', 'p-' || s),
        'startedAt', c_ms + 100, 'endedAt', c_ms + 200),
      'ship', jsonb_build_object('status',
        CASE status WHEN 'completed' THEN 'completed' ELSE 'failed' END, 'attempts', 1,
        'startedAt', c_ms + 200, 'endedAt', c_ms + 300),
      'notify', jsonb_build_object('status',
        CASE status WHEN 'completed' THEN 'completed' ELSE 'pending' END)))
  || CASE status WHEN 'completed' THEN '{}'::jsonb
       ELSE jsonb_build_object('reason', 'step_failed') END
  || CASE status WHEN 'failed' THEN jsonb_build_object('failedPhase', 'compensation',
       'error', jsonb_build_object('name', 'SagaError', 'code', 'SAGA_STEP_FAILED',
                                   'message', 'refund service unavailable', 'retryable', false))
       ELSE '{}'::jsonb END,
  attrs, created, ended
FROM t`;

const EVENT_ROWS = `
INSERT INTO saga_events (saga_id, seq, type, data, created_at)
SELECT md5('s1m' || s)::uuid, e, x.type, jsonb_build_object('type', x.type, 'step', x.step),
       now() - make_interval(days => ${STORE1M_DAYS})
         + make_interval(secs => s * ${STORE1M_DAYS} * 86400.0 / $1::int + e * 0.1)
FROM generate_series(1, $1::int) AS s,
     (VALUES (1, 'SagaStarted', null), (2, 'StepStarted', 'reserve'),
             (3, 'StepCompleted', 'reserve'), (4, 'StepStarted', 'charge'),
             (5, 'StepCompleted', 'charge'), (6, 'StepStarted', 'ship'),
             (7, 'StepCompleted', 'ship'), (8, 'StepStarted', 'notify'),
             (9, 'StepCompleted', 'notify'), (10, 'SagaCompleted', null))
       AS x(e, type, step)`;

export interface GeneratedStore {
  generateSec: number;
  analyzeSec: number;
  sizes: Record<string, string>;
  counts: Record<string, number>;
}

/** Fills a migrated, empty database; then VACUUM ANALYZE and CHECKPOINT. */
export async function generateStore1m(url: string, sagas: number): Promise<GeneratedStore> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let t = performance.now();
    await client.query(SAGA_ROWS, [sagas]);
    await client.query(EVENT_ROWS, [sagas]);
    const generateSec = (performance.now() - t) / 1000;
    t = performance.now();
    await client.query("VACUUM ANALYZE saga_instances");
    await client.query("VACUUM ANALYZE saga_events");
    await client.query("CHECKPOINT");
    const analyzeSec = (performance.now() - t) / 1000;
    return { generateSec, analyzeSec, ...(await describeStore(client)) };
  } finally {
    await client.end();
  }
}

/** Sizes of the two tables (with their indexes) and row counts by tenant and status. */
export async function describeStore(
  client: pg.Client,
): Promise<{ sizes: Record<string, string>; counts: Record<string, number> }> {
  const sizes = await client.query<{ rel: string; size: string }>(
    `SELECT relname AS rel, pg_size_pretty(pg_total_relation_size(oid)) AS size
     FROM pg_class WHERE relname IN ('saga_events', 'saga_instances')`,
  );
  const counts = await client.query<{ k: string; n: number }>(
    `SELECT tenant_id || '/' || status AS k, count(*)::int AS n FROM saga_instances GROUP BY 1
     UNION ALL SELECT 'events', count(*)::int FROM saga_events`,
  );
  return {
    sizes: Object.fromEntries(sizes.rows.map((r) => [r.rel, r.size])),
    counts: Object.fromEntries(counts.rows.map((r) => [r.k, r.n])),
  };
}
