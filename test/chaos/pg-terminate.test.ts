import { afterAll, describe, expect, it } from "vitest";
import { PgServer } from "../../chaos/lib/pg-server.js";
import { freePort } from "../../chaos/lib/rng.js";
import { createOrchestrator, defineSaga } from "../../src/index.js";
import { sleep } from "../helpers/time.js";

// Found by the chaos harness: pg_terminate_backend of a connection that a transaction had checked
// out made node-postgres emit an unhandled 'error' and the whole process exit. A PostgreSQL of the
// test's own: its backends are terminated here, the shared server's never are.
let server: PgServer | null = null;
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
      server = new PgServer(await freePort());
      await server.init();
      await server.start();
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
});
