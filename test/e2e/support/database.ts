import { randomBytes } from "node:crypto";
import pg from "pg";
import { TEST_DATABASE_URL } from "../../helpers/services.js";

/** TEST_DATABASE_URL with another database name. */
function urlOf(database: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function onMaintenanceDb(sql: string): Promise<void> {
  const client = new pg.Client({
    connectionString: urlOf("postgres"),
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A new, empty database on the test server (the service takes no schema setting, so each e2e file
 * gets a database of its own). `drop` removes it even while connections are open.
 */
export async function createFreshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `saga_e2e_${randomBytes(6).toString("hex")}`;
  await onMaintenanceDb(`CREATE DATABASE ${name}`);
  return {
    url: urlOf(name),
    drop: () => onMaintenanceDb(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
