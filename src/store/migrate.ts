import { readFile, readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { SqlClient } from "./sql-client.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));
/** Serialises concurrent migrators (several processes starting at once). */
const MIGRATION_LOCK_KEY = 7_243_911_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The numbered `NNNN_name.sql` files beside this module, in order. */
export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: await readFile(`${dir}${file}`, "utf8"),
    })),
  );
}

/** Applies the migrations not yet recorded in `saga_schema_migrations`, in one transaction
 * under an advisory lock, so that concurrent starters wait for each other. */
export async function migrate(client: SqlClient, migrations?: Migration[]): Promise<number[]> {
  const all = migrations ?? (await loadMigrations());
  return client.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS saga_schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const rows = await tx.query<{ version: number }>("SELECT version FROM saga_schema_migrations");
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of all) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query("INSERT INTO saga_schema_migrations (version, name) VALUES ($1, $2)", [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    return applied;
  });
}
