import pg from "pg";

export interface Counters {
  commits: number;
  walSyncs: number;
  walBytes: number;
}

export const PG_BASE = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432";

export function databaseUrl(name: string): string {
  return `${PG_BASE}/${name}`;
}

/** The driver's connection to the `postgres` database: databases, settings, statistics. */
export class PgAdmin {
  private constructor(private readonly client: pg.Client) {}

  static async connect(): Promise<PgAdmin> {
    const client = new pg.Client({ connectionString: databaseUrl("postgres") });
    await client.connect();
    return new PgAdmin(client);
  }

  async query<Row>(text: string, values?: unknown[]): Promise<Row[]> {
    return (await this.client.query(text, values)).rows as Row[];
  }

  /** Drops (terminating its sessions) and creates an empty database. */
  async recreate(name: string): Promise<string> {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
    await this.drop(name);
    await this.query(`CREATE DATABASE ${name}`);
    return databaseUrl(name);
  }

  async drop(name: string): Promise<void> {
    await this.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }

  async settings(names: string[]): Promise<Record<string, string>> {
    const rows = await this.query<{ name: string; setting: string; unit: string | null }>(
      "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)",
      [names],
    );
    const out: Record<string, string> = {};
    for (const n of names) {
      const row = rows.find((r) => r.name === n);
      out[n] = row ? humanSetting(row.setting, row.unit) : "(unknown)";
    }
    return out;
  }

  async version(): Promise<string> {
    const [row] = await this.query<{ v: string }>("SELECT version() AS v");
    return row?.v ?? "?";
  }

  /** Commits of one database and the cluster's WAL syncs, as the statistics system has them now. */
  async counters(db: string): Promise<Counters> {
    await this.query("SELECT pg_stat_clear_snapshot()");
    const [row] = await this.query<{ commits: string; syncs: string; bytes: string }>(
      `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = $1) AS commits,
              wal_sync AS syncs, wal_bytes AS bytes FROM pg_stat_wal`,
      [db],
    );
    return {
      commits: Number(row?.commits),
      walSyncs: Number(row?.syncs),
      walBytes: Number(row?.bytes),
    };
  }

  /**
   * The same once the database's sessions have ended: a backend hands its counters to the
   * statistics system at exit at the latest (while busy, about once a second).
   */
  async countersAfterExit(db: string): Promise<Counters> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const [row] = await this.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1",
        [db],
      );
      if ((row?.n ?? 0) === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1_100)); // the WAL writer's own counters
    return this.counters(db);
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

function humanSetting(setting: string, unit: string | null): string {
  if (unit === "8kB") {
    const mb = (Number(setting) * 8) / 1024;
    return mb >= 1 ? `${mb} MB` : `${Number(setting) * 8} kB`;
  }
  return unit ? `${setting} ${unit}` : setting;
}
