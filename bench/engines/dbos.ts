import { DBOS } from "@dbos-inc/dbos-sdk";
import {
  postgresCpu,
  queryOnce,
  stepResult,
  toCounts,
  type EngineContext,
  type RunningEngine,
} from "./engine.js";

/**
 * DBOS Transact with its documented API: a registered workflow of three `DBOS.runStep` steps,
 * started with `DBOS.startWorkflow(wf)(input)` and awaited with `handle.getResult()` — the same
 * shape as ours (start, then result). Its system database is this point's own database.
 */
export async function dbos(ctx: EngineContext): Promise<RunningEngine> {
  const { probe } = ctx;
  if (ctx.spec.workload !== "saga3") throw new Error("the dbos engine runs saga3 only");
  const workflow = DBOS.registerWorkflow(
    async (k: number) => {
      const results = [];
      for (const i of [1, 2, 3]) {
        results.push(
          await DBOS.runStep(
            () => {
              probe.enter(k, `s${i}`);
              const result = stepResult(i);
              probe.exit(k);
              return Promise.resolve(result);
            },
            { name: `s${i}` },
          ),
        );
      }
      return results.length;
    },
    { name: "saga3" },
  );
  DBOS.setConfig({
    name: "sagabench",
    applicationVersion: "bench",
    systemDatabaseUrl: ctx.spec.databaseUrl,
    logLevel: "error",
  });
  await DBOS.launch();
  ctx.notes.push("dbos: default configuration (system database pool of 10), logLevel error");
  return {
    runOne: async (k) => {
      const handle = await DBOS.startWorkflow(workflow)(k);
      const steps = await handle.getResult();
      if (steps !== 3) throw new Error(`workflow returned ${steps}`);
    },
    storeCpuSec: postgresCpu(ctx.spec.databaseUrl),
    storeLabel: "PostgreSQL",
    counts: async () =>
      toCounts(
        await queryOnce<{ label: string; n: string }>(
          ctx.spec.databaseUrl,
          "SELECT status AS label, count(*) AS n FROM dbos.workflow_status GROUP BY status",
        ),
      ),
    close: () => DBOS.shutdown(),
  };
}
