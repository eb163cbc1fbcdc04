import pg from "pg";

/** The PostgreSQL the tests use: DATABASE_URL, or the local server's `test` database. */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export async function assertPostgresAnswers(): Promise<void> {
  const client = new pg.Client({
    connectionString: TEST_DATABASE_URL,
    connectionTimeoutMillis: 3_000,
  });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    throw new Error(
      `PostgreSQL does not answer at ${TEST_DATABASE_URL} (${(error as Error).message}). ` +
        `Start it (e.g. 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start') ` +
        `or set TEST_DATABASE_URL. Tests that need it are never skipped.`,
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
