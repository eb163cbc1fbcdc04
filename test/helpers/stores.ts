import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll } from "vitest";
import type { Store } from "../../src/engine/store-port.js";
import { PgliteStore } from "../../src/store/pglite-store.js";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { TEST_DATABASE_URL } from "./services.js";

/** A fresh, empty schema in the test database; dropped when the test file ends. */
export function freshSchema(): string {
  const schema = `t_${randomBytes(6).toString("hex")}`;
  afterAll(async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });
  return schema;
}

export interface StoreKind {
  name: "pglite" | "postgres";
  /** A new store on this file's database (PGlite: a new in-memory database each time it is called). */
  open(): Promise<Store>;
}

/** Both adapters; each test file gets its own PostgreSQL schema. */
export function storeKinds(): StoreKind[] {
  const schema = freshSchema();
  return [
    { name: "pglite", open: async () => PgliteStore.open() },
    {
      name: "postgres",
      open: async () =>
        Promise.resolve(new PostgresStore({ connectionString: TEST_DATABASE_URL, schema })),
    },
  ];
}

export function uniqueTenant(): string {
  return `tenant_${randomBytes(4).toString("hex")}`;
}
