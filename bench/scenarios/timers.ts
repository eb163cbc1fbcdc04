import pg from "pg";
import type { PgAdmin } from "../lib/pgadmin.js";
import { Child } from "../lib/spawn.js";

export interface TimersRecord {
  sagas: number;
  delayMs: number;
  hold: Record<string, number> | null;
  /** Seconds from the kill to the moment every timer was due (the resume process starts then). */
  waitForDueSec: number | null;
  /** Wall time from spawning the fresh process to its report that every saga completed. */
  resumeWallSec: number | null;
  resume: Record<string, number> | null;
  storeCounts: Record<string, number> | null;
  error: string | null;
}

/**
 * timers-10k: process A starts N sagas whose first step fails once and retries on a durable timer
 * (`delayMs` later), reports its memory once all of them sleep, and is killed with SIGKILL. When
 * every timer is due, a fresh process B starts on the same database; we time it to the last
 * completion.
 */
export async function timersScenario(
  admin: PgAdmin,
  o: { sagas: number; delayMs: number },
): Promise<TimersRecord> {
  const record: TimersRecord = {
    sagas: o.sagas,
    delayMs: o.delayMs,
    hold: null,
    waitForDueSec: null,
    resumeWallSec: null,
    resume: null,
    storeCounts: null,
    error: null,
  };
  const db = "bench_timers";
  try {
    const databaseUrl = await admin.recreate(db);
    const holder = new Child(
      { kind: "timers-hold", databaseUrl, sagas: o.sagas, delayMs: o.delayMs },
      { nodeFlags: ["--expose-gc"] },
    );
    const ready = await holder.next(10 * 60_000);
    if (ready.type !== "ready") throw new Error(`unexpected ${ready.type}`);
    record.hold = ready.info ?? null;
    holder.proc.kill("SIGKILL");
    await holder.exited;
    const killedAt = performance.now();
    console.log(
      `[bench] timers: ${o.sagas} asleep, RSS ${ready.info?.rssMb?.toFixed(0)} MB; killed`,
    );
    const client = await connectTo(databaseUrl);
    const [row] = (
      await client.query<{ wait: number; leased: number }>(
        `SELECT COALESCE(EXTRACT(EPOCH FROM max(next_run_at) - now()), 0)::float8 AS wait,
                count(*) FILTER (WHERE lease_owner IS NOT NULL)::int AS leased
         FROM saga_instances`,
      )
    ).rows;
    await client.end();
    if ((row?.leased ?? 0) > 0)
      console.log(`[bench] timers: ${row?.leased} sagas still leased at the kill`);
    await new Promise((r) => setTimeout(r, Math.max(0, (row?.wait ?? 0) * 1000 + 100)));
    record.waitForDueSec = (performance.now() - killedAt) / 1000;
    const resumer = new Child({ kind: "timers-resume", databaseUrl, sagas: o.sagas });
    const done = await resumer.next(15 * 60_000);
    record.resumeWallSec = (performance.now() - resumer.spawnedAt) / 1000;
    await resumer.stop();
    if (done.type !== "done") throw new Error(`unexpected ${done.type}`);
    record.resume = done.info;
    const check = await connectTo(databaseUrl);
    const counts = await check.query<{ status: string; n: number }>(
      "SELECT status, count(*)::int AS n FROM saga_instances GROUP BY status",
    );
    await check.end();
    record.storeCounts = Object.fromEntries(counts.rows.map((r) => [r.status, r.n]));
    console.log(
      `[bench] timers: resumed all in ${record.resumeWallSec.toFixed(2)} s (wall, from spawn)`,
    );
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
    console.log(`[bench] timers: ERROR ${record.error.split("\n")[0]}`);
  }
  return record;
}

async function connectTo(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}
