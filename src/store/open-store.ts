import { PgliteStore } from "./pglite-store.js";
import { PostgresStore } from "./postgres-store.js";

/** Where the sagas are kept: PostgreSQL when a URL is given, else embedded PGlite. */
export interface StoreConfig {
  /** A PostgreSQL URL; unset or null: embedded PGlite. */
  databaseUrl?: string | null;
  /** PostgreSQL schema (created if missing). Default `public`. */
  schema?: string;
  /** PostgreSQL connections in the pool. Default 4. */
  poolSize?: number | null;
  /** PGlite's data directory; unset or null: in memory (lost when the process ends). */
  dataDir?: string | null;
}

/**
 * Opens the store the configuration names: the one place where PostgreSQL or PGlite is chosen
 * (the library's `createOrchestrator`, the service, and the CLI all come here).
 */
export async function openStore(config: StoreConfig): Promise<PostgresStore | PgliteStore> {
  if (config.databaseUrl) {
    return new PostgresStore({
      connectionString: config.databaseUrl,
      ...(config.schema ? { schema: config.schema } : {}),
      ...(config.poolSize ? { poolSize: config.poolSize } : {}),
    });
  }
  return PgliteStore.open(config.dataDir ? { dataDir: config.dataDir } : {});
}
