import type { SqlClient } from "./sql-client.js";
import { SqlStore } from "./sql-store.js";

/** Reads the protected client of a SqlStore (a subclass may read it through its own type). */
class ClientReader extends SqlStore {
  static of(store: SqlStore): SqlClient {
    // The cast is what lets a subclass read the protected member (TS2446 without it).
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    return (store as ClientReader).sql;
  }
}

/**
 * The SQL client under a SqlStore (PostgresStore, PgliteStore), for adapters that share its
 * database and connections (the event store); null for any other Store.
 */
export function sqlClientOf(store: unknown): SqlClient | null {
  return store instanceof SqlStore ? ClientReader.of(store) : null;
}
