// Measures the console's saga list against a store holding many sagas (not a test: run with
// `npx tsx test/ui/support/measure-list.ts [count]`). It makes a database of its own on the test
// PostgreSQL, fills it with copies of real saga rows, times the API calls the Sagas page makes and
// the page itself in chromium, then drops the database.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { TEST_DATABASE_URL } from "../../helpers/services.js";
import { api, startService, stopService } from "../../e2e/support/service.js";
import { launchBrowser } from "./browser.js";
import { sleep } from "../../helpers/time.js";

const COUNT = Number(process.argv[2] ?? 100_000);
const database = `ui_list_${randomBytes(4).toString("hex")}`;
const urlOf = (db: string) => {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${db}`;
  return url.toString();
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: urlOf("postgres") });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const service = await startService(
    "measure",
    { DATABASE_URL: urlOf(database) },
    { timeoutMs: 300_000 },
  );
  const db = new pg.Client({ connectionString: urlOf(database) });
  try {
    await db.connect();
    for (const fail of [false, true]) {
      const r = await api<{ saga_id: string }>(service, "POST", "/sagas/start", {
        body: {
          saga_type: "demo_order",
          input: { order_id: "seed", step_ms: 0, ...(fail ? { fail_at: "ship_order" } : {}) },
        },
      });
      if (r.status !== 201) throw new Error(`start answered ${r.status}`);
    }
    await sleep(3000);
    const fill = Date.now();
    // Copies of the two real rows: new ids, one order id each, spread over 30 days; every 50th failed.
    await db.query(
      `INSERT INTO saga_instances (id, tenant_id, name, version, status, stream_version, state,
         idempotency_key, created_at, updated_at, attributes)
       SELECT gen_random_uuid(), s.tenant_id, s.name, s.version,
              CASE WHEN g % 50 = 0 THEN 'failed' ELSE s.status END, s.stream_version,
              jsonb_set(s.state, '{attributes}', jsonb_build_object('orderId', 'o-' || g)),
              NULL, now() - (g * (interval '30 days' / $1::int)), now(),
              jsonb_build_object('orderId', 'o-' || g)
         FROM generate_series(1, $1::int) g
         JOIN LATERAL (SELECT * FROM saga_instances ORDER BY id OFFSET (g % 2) LIMIT 1) s ON true`,
      [COUNT],
    );
    await db.query("ANALYZE saga_instances");
    const filled = (await db.query("SELECT count(*)::int AS n FROM saga_instances")).rows[0] as {
      n: number;
    };
    console.log(`store: ${filled.n} sagas (filled in ${Date.now() - fill} ms)`);

    const time = async (path: string) => {
      const runs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        const r = await api(service, "GET", path);
        if (r.status !== 200) throw new Error(`${path} answered ${r.status}`);
        runs.push(performance.now() - t);
      }
      console.log(`${path}: median ${median(runs).toFixed(1)} ms of 5`);
    };
    await time("/sagas/?limit=25");
    await time("/sagas/?limit=25&status=failed");
    await time(`/sagas/?limit=25&orderId=o-${Math.floor(COUNT / 2)}`);
    await time("/sagas/?limit=25&saga_type=demo_order&created_before=2026-11-15T00:00:00Z");
    await time("/console/summary");
    await time("/console/overview");

    const browser = await launchBrowser();
    try {
      const loads: number[] = [];
      for (let i = 0; i < 3; i++) {
        const page = await browser.context.newPage();
        const t = performance.now();
        await page.goto(`${service.url}/ui/sagas`);
        await page.locator("table.sagas tbody tr").nth(24).waitFor();
        await page.locator('[data-testid="count-failed"] .n', { hasText: /\d/ }).waitFor();
        loads.push(performance.now() - t);
        await page.close();
      }
      console.log(
        `/ui/sagas in chromium, table and counts shown: median ${median(loads).toFixed(0)} ms of 3`,
      );
    } finally {
      await browser.close();
    }
  } finally {
    await db.end().catch(() => undefined);
    await stopService(service);
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
