import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/core/events.js";
import { replay } from "../../src/core/reducer.js";
import { PostgresStore } from "../../src/index.js";
import { unpackState, type StoredState } from "../../src/store/state-codec.js";
import { spawnChaosChild, useChaosSchema } from "../helpers/chaos-children.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";
import { HISTORY_S2_LOST_ONCE } from "./fixtures/chaos-saga.js";
import { readLedger } from "./fixtures/ledger.js";
import type { ChildConfig, ChildMessage } from "./fixtures/protocol.js";
import { sleep } from "../helpers/time.js";

const { schema, store: storeConfig, ledger, db } = useChaosSchema();

interface Snapshot {
  instance: {
    status: string;
    stream_version: number;
    lease_owner: string | null;
    lease_epoch: string;
    next_run_at: Date | null;
    state: { status: string; seq: number; steps: Record<string, { attempts: number }> };
  };
  events: { seq: number; type: string; data: Record<string, unknown> }[];
}

/** The saga as stored, read with plain SQL (not through the engine). */
async function snapshot(sagaId: string): Promise<Snapshot> {
  const { rows: instances } = await db().query<Snapshot["instance"]>(
    `SELECT status, stream_version, lease_owner, lease_epoch::text, next_run_at, state
     FROM ${schema}.saga_instances WHERE id = $1`,
    [sagaId],
  );
  const { rows: events } = await db().query<Snapshot["events"][number]>(
    `SELECT seq, type, data FROM ${schema}.saga_events WHERE saga_id = $1 ORDER BY seq`,
    [sagaId],
  );
  expect(instances).toHaveLength(1);
  return { instance: instances[0]!, events };
}

const isStep2Started = (m: ChildMessage): m is Extract<ChildMessage, { type: "step-started" }> =>
  m.type === "step-started" && m.step === "s2";

/** How long A's step 2 takes; A is paused in the middle of it. */
const SLOW_MS = 3_000;

describe("a paused worker whose lease expired (PostgreSQL)", () => {
  it(
    "cannot commit its late step once another worker took the saga over",
    { timeout: 120_000 },
    async () => {
      const base = {
        store: storeConfig,
        ledger,
        leaseMs: 1_000,
        heartbeatMs: 200,
        pollIntervalMs: 100,
        stepWorkMs: [1, 3],
        worker: true,
      } satisfies Partial<ChildConfig>;

      const a = spawnChaosChild("worker-a", {
        ...base,
        workerId: "a",
        startSaga: true,
        step2: "slow",
        slowMs: SLOW_MS,
      });
      const marker = await a.waitFor("step s2 started in A", isStep2Started, 60_000);
      const markerSeenAt = Date.now();
      a.signal("SIGSTOP");
      await a.waitUntilStopped(true, 10_000);
      const { sagaId } = marker;
      expect(marker.attempt).toBe(1);
      expect(
        a.messages.filter((m) => m.type === "step-returning"),
        "A must be paused before its step returns; raise slowMs if the machine is this slow",
      ).toEqual([]);

      // B claims once A's lease expires (A cannot renew it while stopped) and finishes the saga.
      const b = spawnChaosChild("worker-b", {
        ...base,
        workerId: "b",
        startSaga: false,
        awaitSagaId: sagaId,
        step2: "normal",
      });
      const settled = await b.waitFor("saga settled in B", (m) => m.type === "settled", 60_000);
      expect(settled).toEqual({ type: "settled", sagaId, status: "completed" });
      const afterB = await snapshot(sagaId);

      // Keep A paused until its step's timer is overdue: on waking, the step returns in the first
      // timer tick and A tries to write its outcome before any lease renewal can tell it the lease
      // is gone. This tests the store's fencing, not only the heartbeat.
      const overdueAt = markerSeenAt + SLOW_MS + 500;
      await sleep(Math.max(0, overdueAt - Date.now()));

      // A wakes up, its step 2 attempt 1 returns late; then A shuts down, which ends its runner.
      a.signal("SIGCONT");
      await a.waitUntilStopped(false, 10_000);
      await a.waitFor(
        "A's late step returned",
        (m) => m.type === "step-returning" && m.sagaId === sagaId && m.attempt === 1,
        30_000,
      );
      a.signal("SIGTERM");
      await a.waitFor("A closed", (m) => m.type === "closed", 30_000);
      expect(await a.waitForExit(15_000)).toEqual({ code: 0, signal: null });
      b.signal("SIGTERM");
      expect(await b.waitForExit(30_000)).toEqual({ code: 0, signal: null });

      // Nothing A did after waking changed the saga.
      const final = await snapshot(sagaId);
      expect(final).toEqual(afterB);
      expect(a.logs("error")).toEqual([]);
      expect(b.logs("error")).toEqual([]);
      // A tried to write its late outcome, and the store refused it: the lease had moved on.
      // (Its heartbeat may also have noticed the lost lease and said so; nothing else is allowed.)
      const warnings = a.logs("warn");
      expect(warnings).toContainEqual({
        type: "log",
        level: "warn",
        message: expect.stringMatching(/^saga write refused/),
        fields: expect.objectContaining({ sagaId, code: "SAGA_LEASE_LOST" }),
      });
      expect(
        warnings.map((w) => w.message).filter((m) => !/^(saga write refused|lease lost)/.test(m)),
      ).toEqual([]);
      expect(b.logs("warn")).toEqual([]);

      const { instance, events } = final;
      expect(instance.status).toBe("completed");
      expect(instance.state.status).toBe("completed");
      expect(instance.lease_owner).toBeNull();
      expect(instance.next_run_at).toBeNull();
      expect(Number(instance.lease_epoch)).toBeGreaterThanOrEqual(2);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(instance.stream_version).toBe(events.length);
      expect(instance.state.seq).toBe(events.length);
      expect(instance.state.steps.s2?.attempts).toBe(2);

      const history = events.map((e) =>
        typeof e.data.step === "string"
          ? `${e.type} ${e.data.step}#${String(e.data.attempt)}`
          : e.type,
      );
      expect(history).toEqual(HISTORY_S2_LOST_ONCE);
      const s2Completed = events.filter((e) => e.type === "StepCompleted" && e.data.step === "s2");
      expect(s2Completed).toHaveLength(1);
      expect(s2Completed[0]!.data.result).toEqual({ by: "b", attempt: 2 });

      // A really ran its step to the end, after B had finished the saga.
      const rows = (await readLedger(ledger)).filter((r) => r.sagaId === sagaId);
      expect(rows.map((r) => `${r.step}#${r.attempt}@${r.workerId}`)).toEqual([
        "s1#1@a",
        "s2#1@a",
        "s2#2@b",
        "s3#1@b",
      ]);
      const late = rows[1]!;
      const lastOfB = rows[3]!;
      expect(late.endedAt).not.toBeNull();
      expect(late.endedAt!).toBeGreaterThan(lastOfB.endedAt!);
      expect(new Set(rows.filter((r) => r.step === "s2").map((r) => r.idempotencyKey))).toEqual(
        new Set([`${sagaId}:s2`]),
      );

      // The engine's reading agrees with the tables (the row holds the compact form) and with
      // a replay of the stream.
      const store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
      try {
        const read = (await store.getSaga("default", sagaId))?.state;
        expect(read).toEqual(unpackState(instance.state as unknown as StoredState));
        expect(read).toEqual(replay(events.map((e) => e.data as SagaEvent)));
        expect((await store.getEvents("default", sagaId)).map((e) => e.event)).toEqual(
          events.map((e) => e.data),
        );
      } finally {
        await store.close();
      }
    },
  );
});
