import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgServer } from "../../chaos/lib/pg-server.js";
import { freePort } from "../../chaos/lib/rng.js";
import { createOrchestrator, defineSaga, PostgresStore } from "../../src/index.js";
import { sleep, waitUntil } from "../helpers/time.js";

// Found by the chaos harness: pg_terminate_backend of a connection that a transaction had checked
// out made node-postgres emit an unhandled 'error' and the whole process exit. A PostgreSQL of the
// test's own: its backends are terminated here, the shared server's never are.
let server!: PgServer;
beforeAll(async () => {
  server = new PgServer(await freePort());
  await server.init();
  await server.start();
}, 180_000);
afterAll(async () => {
  await server?.dispose();
});

const step = (name: string) => ({ name, action: () => Promise.resolve(name) });
const saga = defineSaga({ name: "terminated", steps: [step("a"), step("b"), step("c")] });

describe("backends terminated under load (pg_terminate_backend)", () => {
  it(
    "fail the writes in flight, never the process; every saga still completes",
    { timeout: 240_000 },
    async () => {
      const orchestrator = await createOrchestrator({
        sagas: [saga],
        databaseUrl: server.url,
        outbox: true,
        leaseMs: 1_000,
        heartbeatMs: 200,
        pollIntervalMs: 50,
      });
      try {
        const ids: string[] = [];
        let terminated = 0;
        let stop = false;
        // Terminate every client backend, again and again, while sagas start and run.
        const terminator = (async () => {
          while (!stop) {
            terminated += await server.terminateBackends(20).catch(() => 0);
            await sleep(10);
          }
        })();
        for (let round = 0; round < 60; round++) {
          await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              orchestrator
                .start("terminated", {}, { idempotencyKey: `t-${round}-${i}` })
                .then((h) => ids.push(h.sagaId))
                .catch(() => undefined),
            ),
          );
        }
        stop = true;
        await terminator;
        expect(terminated).toBeGreaterThan(0);
        expect(ids.length).toBeGreaterThan(0);
        for (const id of ids) {
          const result = await orchestrator.handle(id).result();
          expect(result.status).toBe("completed");
        }
      } finally {
        await orchestrator.close({ graceMs: 0 });
      }
    },
  );

  it("a transaction whose backend is terminated while it holds the connection fails, and the process lives on", async () => {
    // Deterministic: the backend of the very transaction is terminated from another session, and
    // the transaction goes on only once the server has closed that connection (before the fix,
    // the checked-out client's 'error' event had no listener and ended the process).
    const store = new PostgresStore({ connectionString: server.url, poolSize: 2 });
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      const failed = store.client.transaction(async (tx) => {
        const [me] = await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        await admin.query("SELECT pg_terminate_backend($1)", [me!.pid]);
        await waitUntil("the terminated backend to be gone", async () => {
          const { rows } = await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [
            me!.pid,
          ]);
          return rows.length === 0;
        });
        await sleep(50); // the client reads the server's goodbye while still checked out
        await tx.query("SELECT 1");
      });
      await expect(failed).rejects.toThrow();
      // The broken client was discarded: the next statements get a fresh connection.
      expect(await store.client.query<{ one: number }>("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    } finally {
      await admin.end();
      await store.close();
    }
  });
});
