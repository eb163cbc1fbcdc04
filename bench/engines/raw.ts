import pg from "pg";
import type { StepProbe } from "../lib/probe.js";
import {
  postgresCpu,
  queryOnce,
  stepResult,
  toCounts,
  type EngineContext,
  type RunningEngine,
} from "./engine.js";

/**
 * The hand-written references on plain `pg`: the same durable points as a saga engine (the start,
 * then each step's outcome), with nothing else. Naive: one transaction per checkpoint. Group:
 * the checkpoints of all sagas waiting at that moment in one statement (one commit).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS bench_sagas (
  id bigint PRIMARY KEY, status text NOT NULL, step int NOT NULL, state jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS bench_steps (
  saga_id bigint NOT NULL, step int NOT NULL, result jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (saga_id, step));`;

interface Checkpoint {
  k: number;
  /** 0: the start (insert the saga row); 1..3: a step's outcome. */
  step: number;
  result: string;
}

type Writer = (c: Checkpoint) => Promise<void>;

async function runSaga(k: number, probe: StepProbe, write: Writer): Promise<void> {
  await write({ k, step: 0, result: JSON.stringify({ input: { k } }) });
  for (const i of [1, 2, 3]) {
    probe.enter(k, `s${i}`);
    const result = await Promise.resolve(stepResult(i));
    probe.exit(k);
    await write({ k, step: i, result: JSON.stringify(result) });
  }
}

async function engine(ctx: EngineContext, pool: pg.Pool, write: Writer): Promise<RunningEngine> {
  await pool.query(SCHEMA);
  return {
    runOne: (k) => runSaga(k, ctx.probe, write),
    storeCpuSec: postgresCpu(ctx.spec.databaseUrl),
    storeLabel: "PostgreSQL",
    counts: async () =>
      toCounts(
        await queryOnce<{ label: string; n: string }>(
          ctx.spec.databaseUrl,
          "SELECT status AS label, count(*) AS n FROM bench_sagas GROUP BY status",
        ),
      ),
    close: () => pool.end(),
  };
}

/** One transaction per checkpoint: BEGIN; INSERT step; UPDATE saga; COMMIT (the start: one INSERT). */
export async function rawNaive(ctx: EngineContext): Promise<RunningEngine> {
  const pool = new pg.Pool({ connectionString: ctx.spec.databaseUrl, max: 10 });
  ctx.notes.push("raw-naive: pg.Pool of 10 (pg's default), 4 statements per step checkpoint");
  const write: Writer = async (c) => {
    if (c.step === 0) {
      await pool.query(
        "INSERT INTO bench_sagas (id, status, step, state) VALUES ($1, 'running', 0, $2)",
        [c.k, c.result],
      );
      return;
    }
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("INSERT INTO bench_steps (saga_id, step, result) VALUES ($1, $2, $3)", [
        c.k,
        c.step,
        c.result,
      ]);
      await client.query(
        "UPDATE bench_sagas SET status = $2, step = $3, state = $4, updated_at = now() WHERE id = $1",
        [c.k, c.step === 3 ? "completed" : "running", c.step, c.result],
      );
      await client.query("COMMIT");
    } finally {
      client.release();
    }
  };
  return engine(ctx, pool, write);
}

const FLUSH = `
WITH starts AS (
  INSERT INTO bench_sagas (id, status, step, state)
  SELECT id, 'running', 0, state FROM unnest($1::bigint[], $2::jsonb[]) AS s(id, state)
), steps AS (
  INSERT INTO bench_steps (saga_id, step, result)
  SELECT * FROM unnest($3::bigint[], $4::int[], $5::jsonb[])
), upd AS (
  UPDATE bench_sagas b SET status = CASE WHEN x.step = 3 THEN 'completed' ELSE 'running' END,
    step = x.step, state = x.result, updated_at = now()
  FROM unnest($3::bigint[], $4::int[], $5::jsonb[]) AS x(id, step, result) WHERE b.id = x.id
)
SELECT 1`;

/**
 * Group commit: a checkpoint submitted while no flush runs is written at once (idle: no added
 * latency); under load the ones that arrive during a flush go together in the next statement.
 */
export async function rawGroup(ctx: EngineContext): Promise<RunningEngine> {
  const maxInFlight = 2;
  const maxBatch = 1000;
  const pool = new pg.Pool({ connectionString: ctx.spec.databaseUrl, max: maxInFlight });
  ctx.notes.push(
    `raw-group: pg.Pool of ${maxInFlight}, up to ${maxInFlight} flushes in flight, ≤ ${maxBatch} checkpoints per statement, prepared statement`,
  );
  let queue: { c: Checkpoint; done: (e?: Error) => void }[] = [];
  let inFlight = 0;
  let scheduled = false;
  const pump = (): void => {
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(maxBatch);
      const starts = batch.filter((b) => b.c.step === 0).map((b) => b.c);
      const steps = batch.filter((b) => b.c.step > 0).map((b) => b.c);
      inFlight++;
      void pool
        .query({
          name: "bench_group_flush",
          text: FLUSH,
          values: [
            starts.map((c) => c.k),
            starts.map((c) => c.result),
            steps.map((c) => c.k),
            steps.map((c) => c.step),
            steps.map((c) => c.result),
          ],
        })
        .then(
          () => batch.forEach((b) => b.done()),
          (error: unknown) =>
            batch.forEach((b) => b.done(error instanceof Error ? error : new Error(String(error)))),
        )
        .finally(() => {
          inFlight--;
          pump();
        });
    }
  };
  const write: Writer = (c) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ c, done: (e) => (e === undefined ? resolve() : reject(e)) });
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(() => {
          scheduled = false;
          pump();
        });
      }
    });
  return engine(ctx, pool, write);
}
