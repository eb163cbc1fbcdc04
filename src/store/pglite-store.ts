import { PGlite } from "@electric-sql/pglite";
import { PgliteClient } from "./pglite-client.js";
import { SqlStore } from "./sql-store.js";

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
