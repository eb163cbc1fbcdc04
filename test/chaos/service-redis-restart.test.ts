import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { defineSaga, type SagaDefinition } from "../../src/engine/definition.js";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { createService, type Service } from "../../src/service.js";
import { sqlClientOf } from "../../src/store/sql-client-of.js";
import { call } from "../api/support/http.js";
import { waitUntil } from "../helpers/time.js";
import { assertRedisAnswers } from "../helpers/redis.js";
import { RedisServer } from "../../chaos/lib/redis-server.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";
import { freshSchema } from "../helpers/stores.js";

// The service (REDIS_URL -> Redis Streams) while its Redis is shut down and started again: events
// published meanwhile wait in the outbox, /health says the bus is down, and once Redis is back
// they reach the bus and start their sagas. The Redis is this file's own server (no persistence).

const onboarding = defineSaga<{ user_id: string }>({
  name: "restart_onboarding",
  triggers: [
    {
      event: "user.registered",
      input: (event) => ({ user_id: (event.data as { user_id: string }).user_id }),
    },
  ],
  steps: [{ name: "profile", action: () => "ok" }],
}) as unknown as SagaDefinition<never, never>;

describe("service with Redis restarted mid-run (chaos)", () => {
  const schema = freshSchema();
  let redis: RedisServer;
  let store: PostgresStore;
  let service: Service;

  beforeAll(async () => {
    await assertRedisAnswers();
    redis = await RedisServer.create();
    await redis.start();
    store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    const config = loadConfig({ REDIS_URL: redis.url, SAGA_SHUTDOWN_GRACE_SECONDS: "1" });
    service = await createService(config, {
      sagas: [onboarding],
      logger: false,
      store,
      builtinDefinitions: null, // only this file's saga reacts to user.registered
    });
  });
  afterAll(async () => {
    await service?.close();
    await store?.close();
    await redis?.dispose();
  });

  const publish = (userId: string) =>
    call(service.app, {
      method: "POST",
      url: "/events/publish",
      payload: { stream_id: userId, type: "user.registered", data: { user_id: userId } },
    });
  const started = async (userId: string) =>
    (await service.orchestrator.list({ tenantId: "default", limit: 1000 })).items.some(
      (s) => (s.input as { user_id: string }).user_id === userId,
    );

  it(
    "keeps events in the outbox while Redis is down and delivers them once it is back",
    { timeout: 90_000 },
    async () => {
      const before = `u-${randomUUID()}`;
      expect((await publish(before)).status).toBe(201);
      await waitUntil("saga before the restart", () => started(before), { timeoutMs: 20_000 });

      await redis.shutdown();
      const during = [`u-${randomUUID()}`, `u-${randomUUID()}`];
      for (const userId of during) expect((await publish(userId)).status).toBe(201); // the store takes them
      await waitUntil(
        "/health reports the bus down",
        async () =>
          (await call(service.app, { method: "GET", url: "/health" })).body.components.bus
            .status === "down",
        { timeoutMs: 20_000 },
      );
      const [waiting] = await sqlClientOf(store)!.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM saga_outbox WHERE type = 'user.registered'",
      );
      expect(waiting!.n).toBe(2);
      expect(await started(during[0]!)).toBe(false);

      await redis.start();
      for (const userId of during)
        await waitUntil(`saga of ${userId} after the restart`, () => started(userId), {
          timeoutMs: 30_000,
        });
      const health = await call(service.app, { method: "GET", url: "/health" });
      expect(health.body.components.bus).toMatchObject({ status: "up", kind: "redis" });
      const sagas = (await service.orchestrator.list({ tenantId: "default", limit: 1000 })).items;
      expect(
        sagas.filter((s) => [before, ...during].includes((s.input as { user_id: string }).user_id)),
      ).toHaveLength(3);
    },
  );
});
