import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/core/errors.js";
import { StreamVersionConflictError } from "../../src/engine/event-store-port.js";
import type { OutboxRow, Store } from "../../src/engine/store-port.js";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { sqlClientOf } from "../../src/store/sql-client-of.js";
import { SqlEventStore } from "../../src/store/sql-event-store.js";
import { sleep, waitUntil } from "../helpers/time.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";
import { freshSchema, storeKinds, uniqueTenant } from "../helpers/stores.js";

// The EventStore port on both SQL adapters: appends with optimistic concurrency, outbox rows in the
// same statement, reads by stream and by global position, types, replay.

/** Drains the outbox (as the relay would) and returns the rows of `tenantId`. */
async function drainOutbox(store: Store, tenantId: string): Promise<OutboxRow[]> {
  const rows: OutboxRow[] = [];
  // n = -1: another relay holds the lock (a relay of another test on this schema): wait for it.
  await waitUntil(
    "the outbox drained (the relay lock free)",
    async () => {
      const n = await store.relayOutbox(500, (batch) => {
        rows.push(...batch);
        return Promise.resolve();
      });
      return n === 0;
    },
    { timeoutMs: 10_000 },
  );
  return rows.filter((r) => r.tenantId === tenantId);
}

describe.each(storeKinds())("EventStore: $name", (kind) => {
  let store: Store;
  let events: SqlEventStore;
  beforeAll(async () => {
    store = await kind.open();
    await store.migrate();
    events = new SqlEventStore(sqlClientOf(store)!);
  });
  afterAll(async () => {
    await store.close();
  });

  it("numbers a stream 1..n, orders the log by global position, and writes the outbox in the same statement", async () => {
    const tenant = uniqueTenant();
    await drainOutbox(store, tenant);
    const first = await events.append(tenant, "user-1", [
      { type: "user.registered", data: { user_id: "u1" }, metadata: { correlation_id: "c-1" } },
    ]);
    const second = await events.append(tenant, "user-1", [
      { type: "user.verified", data: { user_id: "u1" } },
      { type: "user.renamed", data: null, metadata: { source: "test", n: 1 } },
    ]);
    expect(first.streamVersion).toBe(1);
    expect(second.streamVersion).toBe(3);
    expect(second.events.map((e) => e.streamVersion)).toEqual([2, 3]);
    const positions = [...first.events, ...second.events].map((e) => e.globalPosition);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);

    const stream = await events.readStream(tenant, "user-1");
    expect(stream.map((e) => [e.streamVersion, e.type, e.data])).toEqual([
      [1, "user.registered", { user_id: "u1" }],
      [2, "user.verified", { user_id: "u1" }],
      [3, "user.renamed", null],
    ]);
    expect(stream[0]!.metadata).toEqual({ correlation_id: "c-1" });

    const outbox = await drainOutbox(store, tenant);
    expect(outbox.map((r) => r.eventId)).toEqual(stream.map((e) => e.eventId));
    expect(outbox[0]).toMatchObject({
      type: "user.registered",
      key: "user-1",
      data: { user_id: "u1" },
      headers: {
        correlation_id: "c-1",
        "x-correlation-id": "c-1",
        "x-stream-id": "user-1",
        "x-stream-version": "1",
      },
    });
    // Only string metadata travels as headers.
    expect(outbox[2]!.headers).toEqual({
      source: "test",
      "x-stream-id": "user-1",
      "x-stream-version": "3",
    });
  });

  it("refuses an append at the wrong expected version and writes nothing, neither event nor outbox row", async () => {
    const tenant = uniqueTenant();
    await events.append(tenant, "order-1", [{ type: "order.placed", data: {} }], {
      expectedVersion: 0,
    });
    await drainOutbox(store, tenant);
    const attempt = events.append(
      tenant,
      "order-1",
      [
        { type: "order.paid", data: {} },
        { type: "order.shipped", data: {} },
      ],
      { expectedVersion: 0 },
    );
    await expect(attempt).rejects.toBeInstanceOf(StreamVersionConflictError);
    await expect(attempt).rejects.toMatchObject({
      code: ErrorCodes.SAGA_VERSION_CONFLICT,
      details: { stream_id: "order-1", expected_version: 0, current_version: 1 },
    });
    expect((await events.readStream(tenant, "order-1")).map((e) => e.type)).toEqual([
      "order.placed",
    ]);
    expect(await drainOutbox(store, tenant)).toEqual([]);
    // At the right version it goes through.
    const ok = await events.append(tenant, "order-1", [{ type: "order.paid", data: {} }], {
      expectedVersion: 1,
    });
    expect(ok.streamVersion).toBe(2);
  });

  it("keeps versions contiguous under concurrent appends to one stream", async () => {
    const tenant = uniqueTenant();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        events.append(tenant, "busy", [{ type: "tick", data: { i } }]),
      ),
    );
    const stream = await events.readStream(tenant, "busy");
    expect(stream.map((e) => e.streamVersion)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(stream.map((e) => (e.data as { i: number }).i)).size).toBe(20);
    await drainOutbox(store, tenant);
  });

  it("reads the tenant's log by position, in pages, and lists its types; other tenants see nothing", async () => {
    const tenant = uniqueTenant();
    for (let i = 0; i < 5; i++) {
      await events.append(tenant, `s-${i % 2}`, [
        { type: i % 2 ? "b.happened" : "a.happened", data: { i } },
      ]);
    }
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const page = await events.readAll(tenant, after, 2);
      if (page.length === 0) break;
      seen.push(...page.map((e) => (e.data as { i: number }).i));
      after = page[page.length - 1]!.globalPosition;
    }
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    const types = await events.listTypes(tenant);
    expect(types.map((t) => [t.type, t.count])).toEqual([
      ["a.happened", 3],
      ["b.happened", 2],
    ]);
    const other = uniqueTenant();
    expect(await events.readAll(other, 0, 100)).toEqual([]);
    expect(await events.readStream(other, "s-0")).toEqual([]);
    expect(await events.listTypes(other)).toEqual([]);
    await drainOutbox(store, tenant);
  });

  it("replays a stream to the outbox with the original ids, or new ones when asked", async () => {
    const tenant = uniqueTenant();
    const appended = await events.append(tenant, "r", [
      { type: "x", data: { n: 1 } },
      { type: "y", data: { n: 2 } },
    ]);
    await drainOutbox(store, tenant);
    const ids = appended.events.map((e) => e.eventId);

    expect(await events.replay(tenant, "r")).toBe(2);
    const same = await drainOutbox(store, tenant);
    expect(same.map((r) => r.eventId)).toEqual(ids);
    expect(same.map((r) => r.headers["x-replay-of"])).toEqual(ids);
    expect(same.map((r) => r.createdAt)).toEqual(appended.events.map((e) => e.createdAt));

    expect(await events.replay(tenant, "r", { asNew: true, fromVersion: 2 })).toBe(1);
    const fresh = await drainOutbox(store, tenant);
    expect(fresh).toHaveLength(1);
    expect(fresh[0]!.eventId).not.toBe(ids[1]);
    expect(fresh[0]).toMatchObject({
      type: "y",
      data: { n: 2 },
      headers: { "x-replay-of": ids[1] },
    });
    expect(await events.replay(uniqueTenant(), "r")).toBe(0); // another tenant's stream: nothing
  });

  it("refuses bad input with SAGA_INVALID_INPUT", async () => {
    const tenant = uniqueTenant();
    await expect(events.append(tenant, "s", [])).rejects.toMatchObject({
      code: "SAGA_INVALID_INPUT",
    });
    await expect(events.append(tenant, "", [{ type: "t", data: 1 }])).rejects.toMatchObject({
      code: "SAGA_INVALID_INPUT",
    });
    await expect(
      events.append(tenant, "s", [{ type: "t", data: { f: () => 1 } as never }]),
    ).rejects.toMatchObject({ code: "SAGA_INVALID_INPUT" });
    await expect(
      events.append(tenant, "s", [{ type: "t", data: 1 }], { expectedVersion: -1 }),
    ).rejects.toMatchObject({ code: "SAGA_INVALID_INPUT" });
    expect(await events.readStream(tenant, "s")).toEqual([]);
  });
});

describe("EventStore.readAll on PostgreSQL: a row that commits late is never skipped", () => {
  const schema = freshSchema();
  let store: PostgresStore;
  let events: SqlEventStore;
  let late: pg.Client;
  beforeAll(async () => {
    store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    await store.migrate();
    events = new SqlEventStore(sqlClientOf(store)!);
    late = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      options: `-c search_path=${schema}`,
    });
    await late.connect();
  });
  afterAll(async () => {
    await late.query("ROLLBACK").catch(() => undefined);
    await late.end();
    await store.close();
  });

  it("holds back the rows after an open transaction's row until it commits, then returns them in order", async () => {
    const tenant = uniqueTenant();
    const before = await events.append(tenant, "s", [{ type: "t", data: { n: 1 } }]);
    const reader = { after: 0, got: [] as number[] };
    const readOn = async () => {
      const page = await events.readAll(tenant, reader.after, 100);
      for (const e of page) reader.got.push((e.data as { n: number }).n);
      if (page.length > 0) reader.after = page[page.length - 1]!.globalPosition;
      return page.length;
    };
    await waitUntil(
      "the first event read",
      async () => (await readOn()) >= 0 && reader.got.length === 1,
      { timeoutMs: 20_000 },
    );

    // A writer that draws its position now and commits later (it bypasses the append lock, as a
    // foreign writer or a slow transaction would).
    await late.query("BEGIN");
    const [row] = (
      await late.query<{ global_position: string }>(
        `INSERT INTO event_store (tenant_id, stream_id, stream_version, event_id, type, data)
         VALUES ($1, 'late', 1, gen_random_uuid(), 't', '{"n": 2}') RETURNING global_position`,
        [tenant],
      )
    ).rows;
    // Later rows commit first.
    const after = await events.append(tenant, "s", [
      { type: "t", data: { n: 3 } },
      { type: "t", data: { n: 4 } },
    ]);
    expect(Number(row!.global_position)).toBeGreaterThan(before.events[0]!.globalPosition);
    expect(after.events[0]!.globalPosition).toBeGreaterThan(Number(row!.global_position));

    // The reader polls on while the early row is uncommitted: it must not jump past it.
    for (let i = 0; i < 5; i++) {
      expect(await readOn()).toBe(0);
      await sleep(20);
    }
    expect(reader.got).toEqual([1]);

    await late.query("COMMIT");
    await waitUntil(
      "four events read",
      async () => (await readOn()) >= 0 && reader.got.length >= 4,
      { timeoutMs: 20_000 },
    );
    expect(reader.got).toEqual([1, 2, 3, 4]);
  });

  it("is not held back by an open transaction that writes elsewhere", async () => {
    const tenant = uniqueTenant();
    await late.query("BEGIN");
    await late.query("SELECT pg_current_xact_id()"); // an open writer (it has a transaction id)
    try {
      await events.append(tenant, "s", [{ type: "t", data: { n: 1 } }]);
      const page = await events.readAll(tenant, 0, 10);
      expect(page.map((e) => e.data)).toEqual([{ n: 1 }]);
    } finally {
      await late.query("ROLLBACK");
    }
  });
});
