import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisStreamsBus } from "../../src/bus/redis-streams-bus.js";
import type { BusMessage } from "../../src/engine/bus-port.js";
import { defineSaga, type SagaDefinition } from "../../src/engine/definition.js";
import { Orchestrator, type SagaHandle } from "../../src/engine/orchestrator.js";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { sqlClientOf } from "../../src/store/sql-client-of.js";
import { recorder } from "../helpers/buses.js";
import { killChaosChildren, spawnChild, type ChaosChild } from "../helpers/chaos-children.js";
import { sleep, waitUntil } from "../helpers/time.js";
import { byKey, expectedLifecycle, firstOccurrences } from "../helpers/events.js";
import {
  assertRedisAnswers,
  deleteKeys,
  rawRedis,
  TEST_REDIS_URL,
  uniqueKeyPrefix,
} from "../helpers/redis.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";
import { freshSchema } from "../helpers/stores.js";
import {
  RELAY_CONFIG_ENV,
  type RelayChildConfig,
  type RelayChildMessage,
} from "./fixtures/relay-protocol.js";

// kill -9 of the process running the outbox relay, in the middle of a stream of saga lifecycle
// events, then a new relay process: no event is lost, per-saga order is kept, and the only
// duplicates are re-sends of the batch that was on the bus but not yet deleted (same ids).

const ENTRY = fileURLToPath(new URL("./fixtures/relay-process.ts", import.meta.url));

function spawnRelay(config: RelayChildConfig): ChaosChild<RelayChildMessage> {
  return spawnChild<RelayChildMessage>("relay", {
    entry: ENTRY,
    configEnv: RELAY_CONFIG_ENV,
    config,
    unparsed: (line) => ({ type: "warn", message: line }),
  });
}

const workflow = defineSaga<{ n: number }>({
  name: "relay_chaos",
  steps: ["a", "b", "c"].map((name) => ({
    name,
    action: async () => {
      await sleep(5 + Math.random() * 15);
      return name;
    },
    compensate: () => undefined,
  })),
}) as unknown as SagaDefinition<never>;

describe("kill -9 of the outbox relay (chaos)", () => {
  const schema = freshSchema();
  const keyPrefix = uniqueKeyPrefix();
  let store: PostgresStore;
  let bus: RedisStreamsBus;
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    await assertRedisAnswers();
    store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    bus = new RedisStreamsBus({ url: TEST_REDIS_URL, keyPrefix, blockMs: 100 });
    orchestrator = await Orchestrator.create({
      store,
      sagas: [workflow],
      closeStore: false,
      tenantId: "chaos",
      outbox: true,
      pollIntervalMs: 50,
      heartbeatMs: 200,
    });
  });
  afterEach(async () => {
    await killChaosChildren();
  });
  afterAll(async () => {
    await orchestrator?.close({ graceMs: 0 });
    await bus?.close();
    await store?.close();
    const redis = rawRedis();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  it(
    "loses nothing, keeps per-saga order, and repeats only the unacknowledged batch with the same ids",
    { timeout: 120_000 },
    async () => {
      const watched = recorder();
      await bus.subscribe({ group: "consumer", consumer: "c1" }, watched.handler);
      const config: RelayChildConfig = {
        databaseUrl: TEST_DATABASE_URL,
        schema,
        redisUrl: TEST_REDIS_URL,
        keyPrefix,
        batchSize: 8,
        holdAfterPublishMs: 1_500,
      };

      // Sagas keep starting (and committing lifecycle events) while the relay runs, dies and returns.
      const handles: SagaHandle[] = [];
      let producing = true;
      const producer = (async () => {
        for (let n = 0; producing || n < 30; n++) {
          handles.push(await orchestrator.start("relay_chaos", { n }));
          await sleep(40);
        }
      })();

      const first = spawnRelay(config);
      await first.waitFor("ready", (m) => m.type === "ready", 30_000);
      await first.waitUntil(
        "3 batches published",
        () => first.ofType("published").length >= 3,
        30_000,
      );
      // The 3rd batch is on the bus; its rows are held (not deleted) for 1.5 s: kill -9 now.
      first.signal("SIGKILL");
      expect((await first.exited).signal).toBe("SIGKILL");
      const doomed = first.ofType("published").at(-1)!; // the last batch it sent: never deleted
      await sleep(300); // the outbox grows while no relay runs

      const second = spawnRelay({ ...config, holdAfterPublishMs: 0 });
      await second.waitFor("ready", (m) => m.type === "ready", 30_000);
      producing = false;
      await producer;
      const results = await Promise.all(handles.map((h) => h.result()));
      expect(results.every((r) => r.status === "completed")).toBe(true);

      const expected = new Map<string, { id: string; type: string; seq: number }[]>();
      for (const h of handles)
        expected.set(h.sagaId, expectedLifecycle(h.sagaId, await orchestrator.events(h.sagaId)));
      const expectedIds = new Set([...expected.values()].flat().map((e) => e.id));
      await waitUntil(
        `all ${expectedIds.size} events on the bus`,
        () => new Set(watched.seen.map((m) => m.id)).size >= expectedIds.size,
        { timeoutMs: 60_000 },
      );
      // The relay deletes a batch after the bus took it: the last one may still be on its way.
      const outboxRows = async () =>
        (
          await sqlClientOf(store)!.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM saga_outbox",
          )
        )[0]!.n;
      await waitUntil("the outbox drained", async () => (await outboxRows()) === 0, {
        timeoutMs: 10_000,
      });
      expect(await outboxRows()).toBe(0);

      // Nothing lost, nothing foreign.
      const received = watched.seen;
      expect(new Set(received.map((m) => m.id))).toEqual(expectedIds);
      // Per saga, in order: what a consumer keeps after dropping repeated ids is the history.
      const perSaga = byKey(firstOccurrences(received));
      for (const [sagaId, list] of expected) {
        expect(
          (perSaga.get(sagaId) ?? []).map((m) => ({
            id: m.id,
            type: m.type,
            seq: (m.data as { seq: number }).seq,
          })),
          sagaId,
        ).toEqual(list);
      }
      // Duplicates: the killed batch was sent again, with the same ids and the same content.
      const firstById = new Map<string, BusMessage>();
      const repeated = new Set<string>();
      for (const m of received) {
        const earlier = firstById.get(m.id);
        if (earlier) {
          repeated.add(m.id);
          expect(m).toStrictEqual(earlier);
        } else firstById.set(m.id, m);
      }
      expect([...repeated].sort()).toEqual([...doomed.ids].sort());
    },
  );
});
