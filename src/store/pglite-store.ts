import { PGlite } from "@electric-sql/pglite";
import { SqlStore } from "./sql-store.js";
import type { SqlClient, SqlQuery } from "./sql-client.js";

export interface PgliteStoreOptions {
  /** Directory of the database files; omitted = in memory (lost when the process ends). */
  dataDir?: string;
}

/**
 * The Store on embedded PGlite (PostgreSQL compiled to WebAssembly, in this process). One process
 * owns a data directory at a time, so leases left by a previous process are stale by definition:
 * opening the store expires them, and that process's sagas resume at once.
 */
export class PgliteStore extends SqlStore {
  static async open(options: PgliteStoreOptions = {}): Promise<PgliteStore> {
    const db = await PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {});
    return new PgliteStore(new PgliteClient(db));
  }

  override async migrate(): Promise<void> {
    await super.migrate();
    await this.sql.query(
      "UPDATE saga_instances SET lease_expires_at = now() WHERE lease_expires_at > now() AND lease_owner IS NOT NULL",
    );
  }
}

class PgliteClient implements SqlClient {
  constructor(private readonly db: PGlite) {}

  async query<Row>(text: string, params?: readonly unknown[]): Promise<Row[]> {
    const result = await this.db.query<Row>(text, params as unknown[] | undefined);
    return result.rows;
  }

  async exec(script: string): Promise<void> {
    await this.db.exec(script);
  }

  async transaction<T>(fn: (tx: SqlQuery) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) =>
      fn({
        query: async <Row>(text: string, params?: readonly unknown[]) =>
          (await tx.query<Row>(text, params as unknown[] | undefined)).rows,
        exec: async (script: string) => {
          await tx.exec(script);
        },
      }),
    );
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
