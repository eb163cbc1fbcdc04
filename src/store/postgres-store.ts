import { createHash } from "node:crypto";
import pg from "pg";
import { SqlStore } from "./sql-store.js";
import { PLAN_PER_CALL, type SqlClient, type SqlQuery } from "./sql-client.js";

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` */
  connectionString: string;
  /** Schema holding the tables (created if missing); default `public`. */
  schema?: string;
  /** Connections in the pool; default 4 (this engine batches writes, so few are needed). */
  poolSize?: number;
}

/**
 * The Store on PostgreSQL through node-postgres (`pg`): the most used driver, with an explicit
 * pool and no hidden statement caching, and the same row shapes PGlite returns.
 */
export class PostgresStore extends SqlStore {
  private readonly pg: PgClient;

  constructor(options: PostgresStoreOptions) {
    const client = new PgClient(options);
    super(client);
    this.pg = client;
  }

  /** The pool's connections (open, idle) and the queries waiting for one, for metrics. */
  poolStats(): { size: number; idle: number; waiting: number } {
    return this.pg.poolStats();
  }
}

class PgClient implements SqlClient {
  private readonly pool: pg.Pool;
  private readonly schema: string;
  /** The schema creation in flight or done; reset when it failed, so the next query tries again. */
  private schemaReady: Promise<void> | null = null;

  constructor(options: PostgresStoreOptions) {
    const schema = options.schema ?? "public";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
      throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 4,
      options: `-c search_path=${schema}`,
    });
    // A broken idle connection must not crash the process; the next query reconnects.
    this.pool.on("error", () => undefined);
    this.schema = schema;
    this.ready().catch(() => undefined);
  }

  /**
   * Creates the schema once. A store opened while PostgreSQL is down must recover when it comes
   * back: a failed attempt is forgotten (it used to be kept, failing every query forever).
   */
  private ready(): Promise<void> {
    if (this.schema === "public") return Promise.resolve();
    this.schemaReady ??= this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`).then(
      () => undefined,
      (error: unknown) => {
        this.schemaReady = null;
        throw error;
      },
    );
    return this.schemaReady;
  }

  async query<Row>(text: string, params?: readonly unknown[]): Promise<Row[]> {
    await this.ready();
    // A named (prepared) statement: each connection plans it once, not on every checkpoint.
    const result = await this.pool.query({
      name: text.startsWith(PLAN_PER_CALL) ? undefined : statementName(text),
      text,
      values: params as unknown[] | undefined,
    });
    return result.rows as Row[];
  }

  async exec(script: string): Promise<void> {
    await this.ready();
    await this.pool.query(script);
  }

  async transaction<T>(fn: (tx: SqlQuery) => Promise<T>): Promise<T> {
    await this.ready();
    // The pool listens for errors of idle clients only: a checked-out client whose backend is
    // terminated (pg_terminate_backend, a server crash) emitted an unhandled 'error' and ended
    // the process. Now it fails this transaction, and the broken client is discarded.
    let broken: Error | undefined;
    const onError = (error: Error): void => {
      broken = error;
    };
    const client = await this.checkOut(onError);
    try {
      await client.query("BEGIN");
      const tx: SqlQuery = {
        query: async <Row>(text: string, params?: readonly unknown[]) =>
          (await client.query(text, params as unknown[] | undefined)).rows as Row[],
        exec: async (script: string) => {
          await client.query(script);
        },
      };
      const result = await fn(tx);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  }

  /**
   * A pooled client with `onError` already listening. The pool hands a client over synchronously
   * but `await pool.connect()` resumes a microtask later; a client handed over while its socket's
   * data was being parsed (the previous holder's last answer and the server's "terminating
   * connection" in one read) emitted 'error' in that gap with no listener, and the process ended
   * (one worker in the full chaos run). The callback form attaches the listener in the hand-over.
   */
  private checkOut(onError: (error: Error) => void): Promise<pg.PoolClient> {
    return new Promise((resolve, reject) => {
      this.pool.connect((error, client) => {
        if (error || !client) {
          reject(error ?? new Error("the pool gave no connection"));
          return;
        }
        client.on("error", onError);
        resolve(client);
      });
    });
  }

  poolStats(): { size: number; idle: number; waiting: number } {
    return {
      size: this.pool.totalCount,
      idle: this.pool.idleCount,
      waiting: this.pool.waitingCount,
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

const names = new Map<string, string>();
/** A stable name per statement text (pg prepares a named statement once per connection). */
function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `saga_${createHash("sha1").update(text).digest("hex").slice(0, 16)}`;
    names.set(text, name);
  }
  return name;
}
