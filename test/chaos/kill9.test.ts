import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgliteStore, PostgresStore, type Store } from "../../src/index.js";
import { spawnChaosChild, useChaosSchema } from "../helpers/chaos-children.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";
import { CHAOS_STEPS, HISTORY_S2_LOST_ONCE } from "./fixtures/chaos-saga.js";
import { readLedger } from "./fixtures/ledger.js";
import type { ChildConfig, ChildMessage, LedgerConfig, StoreConfig } from "./fixtures/protocol.js";

interface Setup {
  store: StoreConfig;
  ledger: LedgerConfig;
  /** Opens the store in this process (PGlite: only once no child has the data dir open). */
  open: () => Promise<Store>;
}

const postgres = useChaosSchema();
let tempDir: string;

beforeAll(async () => {
  tempDir = await mkdtemp(join(tmpdir(), "saga-kill9-"));
});

afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

const setups: { name: string; setup: () => Setup }[] = [
  {
    name: "postgres",
    setup: () => ({
      store: postgres.store,
      ledger: postgres.ledger,
      open: () =>
        Promise.resolve(
          new PostgresStore({ connectionString: TEST_DATABASE_URL, schema: postgres.schema }),
        ),
    }),
  },
  {
    name: "pglite",
    setup: () => {
      const dataDir = join(tempDir, "pglite-data");
      return {
        store: { kind: "pglite", dataDir },
        ledger: { kind: "file", path: join(tempDir, "ledger.jsonl") },
        open: () => PgliteStore.open({ dataDir }),
      };
    },
  },
];

const isStep2Started = (m: ChildMessage): m is Extract<ChildMessage, { type: "step-started" }> =>
  m.type === "step-started" && m.step === "s2";

describe.each(setups)("kill -9 in the middle of a step ($name)", ({ setup }) => {
  it(
    "a second process re-runs only the lost step, with the same idempotency key",
    { timeout: 120_000 },
    async () => {
      const { store, ledger, open } = setup();
      const base = {
        store,
        ledger,
        leaseMs: 1_500,
        pollIntervalMs: 100,
        stepWorkMs: [1, 3],
      } satisfies Partial<ChildConfig>;

      const first = spawnChaosChild("first", {
        ...base,
        workerId: "first",
        startSaga: true,
        worker: true,
        step2: "hang",
      });
      const marker = await first.waitFor("step s2 started", isStep2Started, 60_000);
      const { sagaId } = marker;
      expect(marker.attempt).toBe(1);
      first.signal("SIGKILL");
      expect(await first.waitForExit(15_000)).toEqual({ code: null, signal: "SIGKILL" });

      // PostgreSQL: claims once the dead process's lease expires. PGlite: the data dir is free
      // now that the first process is gone; opening it expires the leases left behind.
      const second = spawnChaosChild("second", {
        ...base,
        workerId: "second",
        startSaga: false,
        worker: true,
        awaitSagaId: sagaId,
        step2: "normal",
      });
      const settled = await second.waitFor("saga settled", (m) => m.type === "settled", 60_000);
      expect(settled).toEqual({ type: "settled", sagaId, status: "completed" });
      second.signal("SIGTERM");
      expect(await second.waitForExit(30_000)).toEqual({ code: 0, signal: null });
      expect(second.logs("error")).toEqual([]);

      // The ledger: s1 once (committed before the crash), s2 twice, s3 once.
      const rows = (await readLedger(ledger)).filter((r) => r.sagaId === sagaId);
      const runs = rows.map((r) => ({
        step: r.step,
        workerId: r.workerId,
        attempt: r.attempt,
        key: r.idempotencyKey,
        finished: r.endedAt !== null,
      }));
      expect(runs).toEqual([
        { step: "s1", workerId: "first", attempt: 1, key: `${sagaId}:s1`, finished: true },
        { step: "s2", workerId: "first", attempt: 1, key: `${sagaId}:s2`, finished: false },
        { step: "s2", workerId: "second", attempt: 2, key: `${sagaId}:s2`, finished: true },
        { step: "s3", workerId: "second", attempt: 1, key: `${sagaId}:s3`, finished: true },
      ]);
      expect(marker.idempotencyKey).toBe(`${sagaId}:s2`);

      // The history: attempt 1 of s2 started and was lost; attempt 2 completed it.
      const db = await open();
      try {
        const saga = await db.getSaga("default", sagaId);
        expect(saga?.state.status).toBe("completed");
        expect(saga?.leaseOwner).toBeNull();
        expect(saga?.state.steps.s2?.attempts).toBe(2);
        const events = await db.getEvents("default", sagaId);
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
        expect(saga?.state.seq).toBe(events.length);
        const history = events.map(({ event: e }) =>
          "step" in e && "attempt" in e ? `${e.type} ${e.step}#${e.attempt}` : e.type,
        );
        expect(history).toEqual(HISTORY_S2_LOST_ONCE);
        const completed = events.filter((e) => e.event.type === "StepCompleted");
        expect(completed.map((e) => "step" in e.event && e.event.step)).toEqual([...CHAOS_STEPS]);
      } finally {
        await db.close();
      }
    },
  );
});
