import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BusMessage } from "../../src/engine/bus-port.js";
import { RedisStreamsBus } from "../../src/bus/redis-streams-bus.js";
import { loadConfig } from "../../src/config/config.js";
import { defineSaga } from "../../src/engine/definition.js";
import { createService, type Service } from "../../src/service.js";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { runCli, killAllChildren } from "../e2e/support/processes.js";
import { waitUntil } from "../helpers/time.js";
import { TEST_REDIS_URL, deleteKeys, rawRedis, uniqueKeyPrefix } from "../helpers/redis.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";
import { freshSchema } from "../helpers/stores.js";

/** The XADD line of docs/events.md, split as a shell would ('…' quoted words). */
function documentedXadd(): string[] {
  const doc = readFileSync(new URL("../../docs/events.md", import.meta.url), "utf8");
  const block = /```redis\n(XADD [^\n]+)\n```/.exec(doc);
  if (!block) throw new Error("docs/events.md has no ```redis XADD example");
  return [...block[1]!.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

describe("the external event contract (docs/events.md) on Redis Streams", () => {
  const prefix = uniqueKeyPrefix();
  const redis = rawRedis();
  let bus: RedisStreamsBus;
  beforeAll(() => {
    bus = new RedisStreamsBus({ url: TEST_REDIS_URL, keyPrefix: prefix, blockMs: 200 });
  });
  afterAll(async () => {
    await bus.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it("a plain Redis client's XADD, exactly as documented, is consumed as the documented message", async () => {
    const [command, stream, ...args] = documentedXadd();
    expect([command, stream]).toEqual(["XADD", "saga:events"]);
    const received: BusMessage[] = [];
    const sub = await bus.subscribe({ group: "contract", consumer: "c1" }, async (m) => {
      received.push(m);
      return Promise.resolve();
    });
    try {
      await redis.call("XADD", [prefix + stream, ...args]);
      // camelCase names (what docs/events.md used to say) are not the wire format: dead-lettered.
      await redis.call("XADD", [
        prefix + stream,
        "*",
        "id",
        "camel-1",
        "type",
        "order.placed",
        "tenantId",
        "default",
        "data",
        "{}",
        "occurredAt",
        "1767225600000",
      ]);
      await waitUntil(
        "one message handled and one dead letter",
        async () => received.length === 1 && (await bus.stats()).deadLetters === 1,
      );
    } finally {
      await sub.stop();
    }
    expect(received[0]).toEqual({
      id: "0190a5a0-0000-7000-8000-000000000001",
      type: "order.placed",
      tenantId: "default",
      key: "order-1",
      data: { order_id: "order-1", total: 42 },
      occurredAt: 1767225600000,
      headers: { "x-correlation-id": "corr-1" },
    });
    const [dead] = await bus.readDeadLetters();
    expect(dead?.message).toBeNull();
    expect(dead?.error).toMatch(/field (tenant|occurred_at) is missing/);
  });
});

describe("dead letters through the API and the CLI", () => {
  const schema = freshSchema();
  const prefix = uniqueKeyPrefix();
  const redis = rawRedis();
  const admin = "dl-admin-key-0123456789";
  const viewer = "dl-viewer-key-0123456789";
  let bus: RedisStreamsBus;
  let service: Service;
  let url = "";
  const deadStream = `${prefix}saga:events:dead`;

  beforeAll(async () => {
    bus = new RedisStreamsBus({ url: TEST_REDIS_URL, keyPrefix: prefix, blockMs: 200 });
    service = await createService(
      loadConfig({
        SAGA_DATA_DIR: "unused",
        API_KEY: admin,
        API_KEYS: `${viewer}=default:viewer`,
        REQUIRE_API_KEY: "true",
      }),
      {
        sagas: [
          defineSaga({
            name: "awaits_order",
            steps: [
              {
                name: "wait",
                action: (ctx) =>
                  ctx.waitForEvent("order.placed", {
                    path: "key",
                    equals: (ctx.input as { order: string }).order,
                  }),
              },
            ],
          }),
        ],
        logger: false,
        store: new PostgresStore({ connectionString: TEST_DATABASE_URL, schema }),
        bus,
        builtinDefinitions: null,
      },
    );
    await service.app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await killAllChildren();
    await service?.close();
    await bus?.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  const call = async (key: string, method: string, path: string, body?: unknown) => {
    const response = await service.app.inject({
      method: method as "GET",
      url: path,
      headers: { "x-api-key": key },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  };
  /** A dead letter as the subscription writes one: the original fields plus why. */
  const bury = async (fields: string[], group = "saga-orchestrator") =>
    (await redis.call("XADD", [
      deadStream,
      "*",
      ...fields,
      "dead_error",
      "handler failed 5 times",
      "dead_deliveries",
      "5",
      "dead_group",
      group,
      "dead_consumer",
      "w1",
      "dead_source_id",
      "1-1",
      "dead_at",
      String(Date.now()),
    ])) as string;

  it("lists, shows, re-drives (the waiting saga wakes) and purges one tenant's dead letters; admin only", async () => {
    const saga = await service.orchestrator.start("awaits_order", { order: "o-77" });
    const wire = (tenant: string, id: string) => [
      "id",
      id,
      "type",
      "order.placed",
      "tenant",
      tenant,
      "key",
      "o-77",
      "data",
      '{"total":1}',
      "occurred_at",
      String(Date.now()),
    ];
    const good = await bury(wire("default", "evt-77"));
    const broken = await bury(["id", "x", "tenant", "default", "data", "not json"]);
    const foreign = await bury(wire("other", "evt-other"));

    expect((await call(viewer, "GET", "/dead-letters")).status).toBe(403);
    const list = await call(admin, "GET", "/dead-letters?limit=10");
    expect(list.status).toBe(200);
    const items = list.body.items as { id: string; message: { id: string } | null }[];
    expect(items.map((i) => i.id)).toEqual([good, broken]);
    expect(items[0]!.message?.id).toBe("evt-77");
    expect((await call(admin, "GET", `/dead-letters/${foreign}`)).status).toBe(404);
    const shown = await call(admin, "GET", `/dead-letters/${broken}`);
    expect(shown.body).toMatchObject({ message: null, raw: { id: "x", data: "not json" } });
    expect((await call(admin, "GET", "/dead-letters/nonsense")).body).toMatchObject({
      error: { code: "DEAD_LETTER_NOT_FOUND" },
    });

    // The CLI, as a separate process over a real socket.
    const env = { SAGA_URL: url, API_KEY: admin };
    const listed = await runCli(["dead-letters", "list"], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(good);
    expect(listed.stdout).toContain("(undecodable)");
    const redriven = await runCli(["dead-letters", "redrive", good, broken], { env });
    expect(redriven.stdout).toContain(`re-driven: ${good}`);
    expect(redriven.stdout).toContain(`skipped (not found, or undecodable): ${broken}`);
    // Re-driven onto the stream, consumed by the intake: the waiting saga gets its event.
    expect((await saga.result()).status).toBe("completed");

    const purged = await runCli(["dead-letters", "purge", "--all"], { env });
    expect(purged.code, purged.stderr).toBe(0);
    expect(purged.stdout).toContain("purged 1");
    expect((await call(admin, "GET", "/dead-letters")).body.items).toEqual([]);
    // Another tenant's dead letter is untouched.
    expect(await redis.xlen(deadStream)).toBe(1);
    const bad = await runCli(["dead-letters", "purge"], { env });
    expect(bad.code).toBe(2);
  }, 120_000);
});
