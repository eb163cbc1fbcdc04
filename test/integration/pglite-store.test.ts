import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SqlClient } from "../../src/store/sql-client.js";
import { sqlClientOf } from "../../src/store/sql-client-of.js";
import { PgliteStore } from "../../src/store/pglite-store.js";
import { waitUntil } from "../helpers/time.js";

// What the PGlite adapter adds to the store conformance suite: its client (prepared statements,
// result types, errors, transactions, turns of the event loop), its checkpoints, and a data
// directory that outlives the process.

describe("PgliteStore's client", () => {
  let store: PgliteStore;
  let sql: SqlClient;
  beforeAll(async () => {
    store = await PgliteStore.open();
    sql = sqlClientOf(store)!;
  });
  afterAll(async () => {
    await store.close();
  });

  it("returns jsonb as objects, float8 and int as numbers, booleans, text (UTF-8), uuid and null", async () => {
    const id = "0195f2a4-6c1e-7000-8000-000000000001";
    const [row] = await sql.query<Record<string, unknown>>(
      `SELECT $1::jsonb AS j, $2::float8 AS f, $3::int AS i, $4::boolean AS b, $5::text AS t,
              $6::uuid AS u, NULL::text AS n`,
      [JSON.stringify({ a: [1, "é"] }), 1.5, 7, true, "héllo ✓ 🎉", id],
    );
    expect(row).toStrictEqual({
      j: { a: [1, "é"] },
      f: 1.5,
      i: 7,
      b: true,
      t: "héllo ✓ 🎉",
      u: id,
      n: null,
    });
  });

  it("runs a prepared statement again with other parameters", async () => {
    const text = "SELECT $1::int * 2 AS twice";
    expect(await sql.query(text, [2])).toEqual([{ twice: 4 }]);
    expect(await sql.query(text, [5])).toEqual([{ twice: 10 }]);
  });

  it("fails one statement with PostgreSQL's error and goes on with the next", async () => {
    await expect(sql.query("SELECT $1::int AS n", ["not a number"])).rejects.toMatchObject({
      code: "22P02",
    });
    await expect(sql.query("SELECT nothing FROM nowhere")).rejects.toMatchObject({
      code: "42P01",
    });
    expect(await sql.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
  });

  it("commits a transaction, and rolls it back when its function throws", async () => {
    await sql.exec("CREATE TABLE tx_probe (n int)");
    await sql.transaction(async (tx) => {
      await tx.query("INSERT INTO tx_probe VALUES ($1)", [1]);
    });
    await expect(
      sql.transaction(async (tx) => {
        await tx.query("INSERT INTO tx_probe VALUES ($1)", [2]);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await sql.query("SELECT n FROM tx_probe")).toEqual([{ n: 1 }]);
  });

  it("refuses to commit a transaction in which a statement failed", async () => {
    await expect(
      sql.transaction(async (tx) => {
        await tx.query("SELECT 1 / $1::int AS x", [0]).catch(() => undefined);
      }),
    ).rejects.toThrow(/rolled back/);
    expect(await sql.query("SELECT 2 AS two")).toEqual([{ two: 2 }]);
  });

  it("lets the event loop turn while statements are queued", async () => {
    // Counts turns of the event loop, not milliseconds: a store that never yielded would leave
    // this at 1 however fast or loaded the machine is.
    let turns = 0;
    let done = false;
    const spin = () => {
      turns++;
      if (!done) setImmediate(spin);
    };
    setImmediate(spin);
    try {
      await Promise.all(Array.from({ length: 300 }, (_, i) => sql.query("SELECT $1::int", [i])));
    } finally {
      done = true;
    }
    expect(turns).toBeGreaterThan(100);
  });

  it(
    "checkpoints once enough WAL was written, so that the WAL does not grow without bound",
    {
      timeout: 120_000,
    },
    async () => {
      const redo = async () =>
        (
          await sql.query<{ redo: string }>(
            "SELECT redo_lsn::text AS redo FROM pg_control_checkpoint()",
          )
        )[0]!.redo;
      const before = await redo();
      await sql.exec(
        "CREATE TABLE wal_probe AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 200000) g",
      );
      // The store looks every 5 s; ten looks leave room for a slow CHECKPOINT on a loaded machine.
      await waitUntil("another answer than before", async () => (await redo()) !== before, {
        timeoutMs: 50_000,
      });
    },
  );
});

describe("PgliteStore on a data directory", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "saga-pglite-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps what was written for the next process to open it", async () => {
    const first = await PgliteStore.open({ dataDir: dir });
    await first.migrate();
    await sqlClientOf(first)!.exec("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('yes')");
    await first.close();
    const second = await PgliteStore.open({ dataDir: dir });
    try {
      expect(await sqlClientOf(second)!.query("SELECT v FROM kept")).toEqual([{ v: "yes" }]);
    } finally {
      await second.close();
    }
  });
});

describe("in-memory PgliteStore from the cached image of a new database", () => {
  it("opens independent databases, and keeps the image where only this user can write", async () => {
    const a = await PgliteStore.open();
    const b = await PgliteStore.open();
    try {
      await sqlClientOf(a)!.exec("CREATE TABLE only_in_a (v int)");
      const tables = async (s: PgliteStore) =>
        (
          await sqlClientOf(s)!.query<{ n: string }>(
            "SELECT count(*)::text AS n FROM pg_tables WHERE tablename = 'only_in_a'",
          )
        )[0]!.n;
      expect(await tables(a)).toBe("1");
      expect(await tables(b)).toBe("0");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    const dir = join(tmpdir(), `saga-orchestrator-${process.getuid!()}`);
    const files = (await readdir(dir)).filter((f) => /^pglite-.+\.tar$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    expect((await stat(dir)).mode & 0o077).toBe(0);
    for (const f of files) expect((await stat(join(dir, f))).mode & 0o077).toBe(0);
  });
});
