import { afterAll, describe, expect, it } from "vitest";
import { PgServer } from "../../chaos/lib/pg-server.js";
import { freePort } from "../../chaos/lib/rng.js";
import { PostgresStore } from "../../src/index.js";
import { waitUntil } from "../helpers/time.js";

// A PostgreSQL of the test's own (initdb into a temporary folder, another port): it is stopped
// and started here; the shared server on 5432 is never touched.
let server: PgServer | null = null;
afterAll(async () => {
  await server?.dispose();
});

describe("a PostgresStore opened while PostgreSQL is down", () => {
  it(
    "fails while the server is down, then works once it is up, without being reopened",
    { timeout: 240_000 },
    async () => {
      server = new PgServer(await freePort());
      await server.init();
      // Down: the store is made anyway (as a service starting before its database would).
      const store = new PostgresStore({ connectionString: server.url, schema: "chaos_down" });
      try {
        await expect(store.now()).rejects.toThrow();
        await server.start();
        // Regression: the failed schema creation was kept, so every later query failed forever.
        await store.migrate();
        const now = await store.now();
        expect(Math.abs(now - Date.now())).toBeLessThan(60_000);

        // An immediate stop (a crash) and a restart: the same store recovers by itself.
        await server.stopImmediate();
        await expect(store.now()).rejects.toThrow();
        await server.start();
        await waitUntil(
          "the store answers after the restart",
          () =>
            store.now().then(
              () => true,
              () => false,
            ),
          { timeoutMs: 10_000, intervalMs: 100 },
        );
      } finally {
        await store.close();
      }
    },
  );
});
