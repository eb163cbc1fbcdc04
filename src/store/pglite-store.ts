import { PgliteClient } from "./pglite-client.js";
import { openPglite } from "./pglite-open.js";
import { CHECKPOINT_DUE } from "./sql/checkpoint-due.js";
import { SqlStore } from "./sql-store.js";

export interface PgliteStoreOptions {
  /** Directory of the database files; omitted = in memory (lost when the process ends). */
  dataDir?: string;
}

/** How often the store looks at the WAL written since the last checkpoint, and how much it lets pass. */
const CHECKPOINT_CHECK_MS = 5_000;
const CHECKPOINT_AFTER_WAL_BYTES = 32 * 1024 * 1024;

/**
 * The Store on embedded PGlite (PostgreSQL compiled to WebAssembly, in this process). One process
 * owns a data directory at a time, so leases left by a previous process are stale by definition:
 * opening the store expires them, and that process's sagas resume at once.
 */
export class PgliteStore extends SqlStore {
  private checkpoints: NodeJS.Timeout | undefined;

  static async open(options: PgliteStoreOptions = {}): Promise<PgliteStore> {
    const store = new PgliteStore(new PgliteClient(await openPglite(options.dataDir)));
    store.checkpoints = setInterval(() => void store.checkpointIfDue(), CHECKPOINT_CHECK_MS);
    store.checkpoints.unref();
    return store;
  }

  override async migrate(): Promise<void> {
    await super.migrate();
    await this.sql.query(
      "UPDATE saga_instances SET lease_expires_at = now() WHERE lease_expires_at > now() AND lease_owner IS NOT NULL",
    );
  }

  override async close(): Promise<void> {
    clearInterval(this.checkpoints);
    await super.close();
  }

  /**
   * PostgreSQL in single-user mode, as PGlite runs it, never checkpoints on its own: without this
   * the WAL grows without bound (in this process's memory for an in-memory database), and a
   * restart after a crash replays all of it.
   */
  private async checkpointIfDue(): Promise<void> {
    try {
      const [row] = await this.sql.query<{ due: boolean }>(CHECKPOINT_DUE, [
        CHECKPOINT_AFTER_WAL_BYTES,
      ]);
      if (row?.due) await this.sql.exec("CHECKPOINT");
    } catch {
      // Closed meanwhile, or a failing database, which the store's own statements report; the
      // next tick tries again.
    }
  }
}
