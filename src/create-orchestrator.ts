import type { Clock } from "./engine/clock.js";
import type { SagaDefinition } from "./engine/definition.js";
import type { Logger } from "./engine/logger.js";
import { Orchestrator, type OrchestratorOptions } from "./engine/orchestrator.js";
import type { Store } from "./engine/store-port.js";
import { openStore } from "./store/open-store.js";

export interface CreateOrchestratorOptions extends Omit<OrchestratorOptions, "store" | "sagas"> {
  sagas: readonly SagaDefinition<never, never>[];
  /** PostgreSQL connection string. When absent, sagas are stored in embedded PGlite. */
  databaseUrl?: string;
  /** With `databaseUrl`: the schema holding the tables (default `public`). */
  schema?: string;
  /** With `databaseUrl`: connections in the pool (default 4). */
  poolSize?: number;
  /**
   * Without `databaseUrl`: PGlite's data directory. Omitted: in memory, which is lost when the
   * process ends — fine for tests and trials, not for sagas that must survive a restart.
   */
  dataDir?: string;
  /** A store of your own (overrides the options above); `close()` leaves it open unless `closeStore`. */
  store?: Store;
  logger?: Logger;
  clock?: Clock;
}

/**
 * Creates an orchestrator on PostgreSQL (`databaseUrl`) or embedded PGlite (the default), migrates
 * the schema, and starts working.
 * @example
 * const orch = await createOrchestrator({ sagas: [backtest], databaseUrl: process.env.DATABASE_URL });
 * const run = await orch.start("backtest_workflow", { strategyId: 123 }, { idempotencyKey: "req-42" });
 * const { status, results } = await run.result();
 */
export async function createOrchestrator(
  options: CreateOrchestratorOptions,
): Promise<Orchestrator> {
  const { databaseUrl, schema, poolSize, dataDir, store, ...rest } = options;
  const chosen =
    store ??
    (await openStore({
      databaseUrl: databaseUrl ?? null,
      ...(schema ? { schema } : {}),
      poolSize: poolSize ?? null,
      dataDir: dataDir ?? null,
    }));
  try {
    return await Orchestrator.create({ closeStore: store === undefined, ...rest, store: chosen });
  } catch (error) {
    if (!store) await chosen.close().catch(() => undefined);
    throw error;
  }
}
