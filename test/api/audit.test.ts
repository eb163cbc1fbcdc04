import type { AddressInfo } from "node:net";
import pg from "pg";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { TerminalError } from "../../src/core/errors.js";
import { defineSaga } from "../../src/engine/definition.js";
import { silentLogger } from "../../src/engine/logger.js";
import { createService, type Service } from "../../src/service.js";
import { startRetention } from "../../src/service-retention.js";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { sqlClientOf } from "../../src/store/sql-client-of.js";
import { killAllChildren, runCli } from "../e2e/support/processes.js";
import { untilAborted } from "../helpers/engine.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";
import { freshSchema } from "../helpers/stores.js";

const admin = "audit-admin-key-0123456789";
const operator = "audit-operator-key-0123456789";
const otherAdmin = "audit-other-admin-0123456789";

describe("audit trail and retention", () => {
  const schema = freshSchema();
  let service: Service;
  let url = "";
  beforeAll(async () => {
    service = await createService(
      loadConfig({
        SAGA_DATA_DIR: "unused",
        API_KEY: admin,
        API_KEYS: `${operator}=default:operator,${otherAdmin}=other:admin`,
        REQUIRE_API_KEY: "true",
      }),
      {
        sagas: [
          defineSaga({ name: "quick", steps: [{ name: "a", action: () => 1 }] }),
          defineSaga({
            name: "breaks",
            steps: [
              {
                name: "a",
                action: () => 1,
                compensationRetry: { maxAttempts: 1 },
                compensate: () => {
                  throw new TerminalError("undo broke");
                },
              },
              {
                name: "b",
                action: () => {
                  throw new TerminalError("no");
                },
              },
            ],
          }),
          defineSaga({
            name: "slow",
            steps: [
              { name: "a", action: () => 1, compensate: () => undefined },
              { name: "b", action: (_ctx, { signal }) => untilAborted(signal) },
            ],
          }),
        ],
        logger: false,
        store: new PostgresStore({ connectionString: TEST_DATABASE_URL, schema }),
        builtinDefinitions: null,
      },
    );
    await service.app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await killAllChildren();
    await service?.close();
  });

  const call = async (key: string, method: string, path: string, body?: unknown) => {
    const response = await service.app.inject({
      method: method as "GET",
      url: path,
      headers: { "x-api-key": key, "user-agent": "audit-test/1" },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  };
  type Entry = { actor: string; role: string; action: string; saga_id: string | null };
  const audit = async (key: string, query = "") =>
    (await call(key, "GET", `/audit${query}`)).body.items as Entry[];

  it("records who started and cancelled what, from where; GET /audit filters, scoped to the tenant, admin only", async () => {
    const started = await call(operator, "POST", "/sagas/start", { saga_type: "slow" });
    expect(started.status).toBe(201);
    const sagaId = started.body.saga_id as string;
    expect((await call(operator, "POST", `/sagas/${sagaId}/cancel`)).status).toBeLessThan(300);
    await call(admin, "POST", "/sagas/start", { saga_type: "quick" });
    expect((await call(operator, "GET", "/audit")).status).toBe(403);

    const all = await audit(admin);
    expect(all.map((e) => e.action)).toEqual(["saga.start", "saga.cancel", "saga.start"]);
    const mine = await audit(admin, `?saga_id=${sagaId}`);
    expect(mine.map((e) => e.action)).toEqual(["saga.cancel", "saga.start"]);
    const first = (await call(admin, "GET", `/audit?saga_id=${sagaId}&action=saga.start`)).body
      .items as Record<string, unknown>[];
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      role: "operator",
      address: "127.0.0.1",
      user_agent: "audit-test/1",
      target: "slow",
      status: 201,
    });
    expect(first[0]!.actor).toMatch(/^key:[0-9a-f]{12}$/);
    expect(await audit(admin, `?actor=${first[0]!.actor as string}`)).toHaveLength(2);
    expect(await audit(admin, "?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z")).toEqual([]);
    expect(await audit(otherAdmin)).toEqual([]);
    expect((await call(admin, "GET", "/audit?from=yesterday")).status).toBe(400);

    const cli = await runCli(["audit", "--action", "saga.cancel"], {
      env: { SAGA_URL: url, API_KEY: admin },
    });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`saga.cancel`);
    expect(cli.stdout).toContain(sagaId);
  }, 120_000);

  it("GET /sagas filters by updated_at (ended at, for finished sagas) and created_at ranges", async () => {
    const before = new Date(Date.now() - 60_000).toISOString();
    const done = await service.orchestrator.start("quick");
    await done.result();
    const ids = async (query: string) => {
      const page = await call(admin, "GET", `/sagas/?${query}`);
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      return (page.body.items as { saga_id: string }[]).map((i) => i.saga_id);
    };
    // Completed in the last minute (the seeds' "failed in the last 24 h", with another status).
    expect(await ids(`status=completed&updated_after=${before}`)).toContain(done.sagaId);
    expect(await ids(`status=completed&updated_before=${before}`)).not.toContain(done.sagaId);
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    // Running for more than an hour: none here.
    expect(await ids(`status=running&created_before=${hourAgo}`)).toEqual([]);
    // A time filter is not mistaken for an attribute filter.
    expect((await call(admin, "GET", "/sagas/?updated_after=yesterday")).status).toBe(400);
  });

  it("SAGA_RETENTION_DAYS deletes old finished sagas' events and old audit rows, keeps the rest, and counts them", async () => {
    const done = await service.orchestrator.start("quick");
    await done.result();
    const failed = await service.orchestrator.start("breaks");
    expect((await failed.result()).status).toBe("failed");
    const db = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    try {
      await db.query(`SET search_path = ${schema}`);
      // Both finished 40 days ago; the audit rows of the first test too.
      await db.query(
        `UPDATE saga_instances SET updated_at = now() - interval '40 days' WHERE id = ANY($1)`,
        [[done.sagaId, failed.sagaId]],
      );
      await db.query(`UPDATE saga_audit SET at = now() - interval '40 days'`);
      const registry = new Registry();
      const store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
      const retention = startRetention({
        sql: sqlClientOf(store)!,
        days: 30,
        registry,
        logger: silentLogger,
        everyMs: 3_600_000,
      });
      try {
        const removed = await retention.runOnce();
        const count = async (sql: string, id: string) =>
          (await db.query<{ n: number }>(sql, [id])).rows[0]!.n;
        const events = "SELECT count(*)::int AS n FROM saga_events WHERE saga_id = $1";
        expect(await count(events, done.sagaId)).toBe(0);
        expect(await count(events, failed.sagaId)).toBeGreaterThan(0); // failed: may be retried
        expect(removed.audit).toBe(3);
        expect(removed.events).toBeGreaterThan(0);
        expect((await db.query("SELECT count(*)::int AS n FROM saga_audit")).rows[0].n).toBe(0);
        const text = await registry.metrics();
        expect(text).toContain(`saga_retention_removed_total{kind="audit"} 3`);
        expect(text).toContain(`saga_retention_removed_total{kind="events"} ${removed.events}`);
        // The saga itself (its state) is still there.
        expect((await call(admin, "GET", `/sagas/${done.sagaId}`)).status).toBe(200);
      } finally {
        retention.stop();
        await store.close();
      }
    } finally {
      await db.end();
    }
  });
});
