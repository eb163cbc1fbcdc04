import { readFileSync } from "node:fs";
import pg from "pg";

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the engine's group-commit statement with the parameters of the
 * largest batch the profiled run sent. The run has moved those sagas on since, so inside a
 * transaction that is rolled back the rows are put back as they were at that moment (expected
 * stream version, lease held, events not yet written) and the statement runs for real.
 */
export async function explainCommit(
  databaseUrl: string,
  captured: string,
): Promise<{ batch: number; plan: string }> {
  const { size, text, values } = JSON.parse(readFileSync(captured, "utf8")) as {
    size: number;
    /** The statement as sent: the lean or the full group commit. */
    text: string;
    values: string[];
  };
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query(
      `UPDATE saga_instances i SET stream_version = x.expected, lease_owner = x.owner,
         lease_epoch = x.epoch, lease_expires_at = now() + interval '1 minute'
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, owner text, epoch bigint, expected int)
       WHERE i.id = x.id`,
      [values[0]],
    );
    await client.query(
      `DELETE FROM saga_events e USING jsonb_to_recordset($1::jsonb) AS x(saga_id uuid, seq int)
       WHERE e.saga_id = x.saga_id AND e.seq = x.seq`,
      [values[1]],
    );
    const plan = await client.query<{ "QUERY PLAN": string }>(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`,
      values,
    );
    return { batch: size, plan: plan.rows.map((r) => r["QUERY PLAN"]).join("\n") };
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
    await client.end();
  }
}
