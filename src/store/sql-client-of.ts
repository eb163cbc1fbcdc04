import type { SqlClient } from "./sql-client.js";
import { SqlStore } from "./sql-store.js";

/**
 * The SQL client under a SqlStore (PostgresStore, PgliteStore), for adapters that share its
 * database and connections (the event store); null for any other Store.
 */
export function sqlClientOf(store: unknown): SqlClient | null {
  return store instanceof SqlStore ? store.client : null;
}
