import pg from "pg";
import { PostgresStore } from "../../src/index.js";
import { databaseUrl, type PgAdmin } from "../lib/pgadmin.js";
import { measurePoint, type PointRecord } from "./points.js";

export interface HistoryRecord {
  events: number;
  instances: number;
  generateSec: number;
  vacuumSec: number;
  sizes: Record<string, string>;
  points: PointRecord[];
  error: string | null;
}

const FULL_DB = "bench_history";
const EMPTY_DB = "bench_history_empty";

/**
 * history-10m: saga3 on ours-pg with saga_events holding `events` rows (and `events / 10`
 * completed instances), generated in SQL with generate_series, against an empty database —
 * interleaved (empty, full, empty, full) so drift hits both alike.
 */
export async function historyScenario(
  admin: PgAdmin,
  o: { events: number; concurrency: number[]; reps: number; warmupMs: number; measureMs: number },
): Promise<HistoryRecord> {
  const instances = Math.floor(o.events / 10);
  const record: HistoryRecord = {
    events: o.events,
    instances,
    generateSec: 0,
    vacuumSec: 0,
    sizes: {},
    points: [],
    error: null,
  };
  try {
    const url = await admin.recreate(FULL_DB);
    const store = new PostgresStore({ connectionString: url });
    await store.migrate();
    await store.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    let t = performance.now();
    console.log(`[bench] history: generating ${o.events} events…`);
    await client.query(
      `INSERT INTO saga_instances (id, tenant_id, name, version, status, stream_version, state, created_at, updated_at)
       SELECT md5('h' || s)::uuid, 'default', 'bench_saga3', 1, 'completed', 10,
              jsonb_build_object('id', md5('h' || s)::uuid, 'status', 'completed'),
              now() - interval '1 day', now() - interval '1 day'
       FROM generate_series(1, $1::int) AS s`,
      [instances],
    );
    await client.query(
      `INSERT INTO saga_events (saga_id, seq, type, data, created_at)
       SELECT md5('h' || s)::uuid, e, 'StepCompleted',
              jsonb_build_object('type', 'StepCompleted', 'step', 's' || e, 'attempt', 1,
                                 'result', jsonb_build_object('step', e, 'ok', true)),
              now() - interval '1 day'
       FROM generate_series(1, $1::int) AS s, generate_series(1, 10) AS e`,
      [instances],
    );
    record.generateSec = (performance.now() - t) / 1000;
    t = performance.now();
    await client.query("VACUUM ANALYZE");
    await client.query("CHECKPOINT");
    record.vacuumSec = (performance.now() - t) / 1000;
    const sizes = await client.query<{ rel: string; size: string }>(
      `SELECT relname AS rel, pg_size_pretty(pg_total_relation_size(oid)) AS size
       FROM pg_class WHERE relname IN ('saga_events', 'saga_instances')`,
    );
    record.sizes = Object.fromEntries(sizes.rows.map((r) => [r.rel, r.size]));
    const [count] = (await client.query<{ n: string }>("SELECT count(*) AS n FROM saga_events"))
      .rows;
    record.sizes.saga_events_rows = String(count?.n);
    await client.end();
    console.log(
      `[bench] history: generated in ${record.generateSec.toFixed(0)} s (${JSON.stringify(record.sizes)})`,
    );
    for (const concurrency of o.concurrency) {
      for (let rep = 1; rep <= o.reps; rep++) {
        for (const full of [false, true]) {
          const baseline = full ? await statusCounts(FULL_DB) : null;
          const point = await measurePoint(admin, {
            engine: "ours-pg",
            workload: "saga3",
            concurrency,
            rep,
            warmupMs: o.warmupMs,
            measureMs: o.measureMs,
            db: full ? FULL_DB : EMPTY_DB,
            keepDb: full,
            label: full ? "history-10m" : "history-empty",
          });
          if (baseline) point.storeBaseline = baseline;
          record.points.push(point);
        }
      }
    }
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
    console.log(`[bench] history: ERROR ${record.error.split("\n")[0]}`);
  } finally {
    await admin.drop(FULL_DB).catch(() => undefined);
  }
  return record;
}

async function statusCounts(db: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl(db) });
  await client.connect();
  try {
    const rows = await client.query<{ status: string; n: number }>(
      "SELECT status, count(*)::int AS n FROM saga_instances GROUP BY status",
    );
    return Object.fromEntries(rows.rows.map((r) => [r.status, r.n]));
  } finally {
    await client.end();
  }
}
