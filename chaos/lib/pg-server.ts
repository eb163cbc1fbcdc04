import { execFile, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

/** The PostgreSQL binaries: the Debian layout first, then PATH. */
function binDir(): string {
  for (const v of ["17", "16", "15", "14"]) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    if (existsSync(join(dir, "pg_ctl"))) return dir;
  }
  return "";
}

/**
 * A PostgreSQL server of the harness's own: `initdb` into a temporary folder, its own port and
 * socket folder, so it can be stopped in `immediate` mode (a crash: no checkpoint, WAL replay on
 * start) as often as the run wants. The shared server on 5432 is never touched.
 * As root (initdb refuses root), the server runs as the `postgres` user through `runuser`.
 */
export class PgServer {
  readonly dir: string;
  private readonly bin = binDir();
  private readonly asRoot = process.getuid?.() === 0;
  private up = false;

  constructor(readonly port: number) {
    this.dir = mkdtempSync(join(tmpdir(), "saga-chaos-pg-"));
    if (this.asRoot) {
      const uid = Number(spawnSync("id", ["-u", "postgres"]).stdout.toString().trim());
      const gid = Number(spawnSync("id", ["-g", "postgres"]).stdout.toString().trim());
      if (!Number.isInteger(uid) || uid <= 0)
        throw new Error("running as root needs a postgres user");
      chownSync(this.dir, uid, gid);
      chmodSync(this.dir, 0o700);
    }
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get running(): boolean {
    return this.up;
  }

  private tool(name: string): string {
    return this.bin ? join(this.bin, name) : name;
  }

  private async exec(name: string, args: string[], timeoutMs = 120_000): Promise<string> {
    const [cmd, argv] = this.asRoot
      ? ["runuser", ["-u", "postgres", "--", this.tool(name), ...args]]
      : [this.tool(name), args];
    const { stdout } = await run(cmd, argv, { timeout: timeoutMs });
    return stdout;
  }

  /** initdb (trust auth, no fsync during initdb: it is a throwaway cluster). */
  async init(): Promise<void> {
    await this.exec("initdb", [
      "-D",
      join(this.dir, "data"),
      "-U",
      "postgres",
      "--auth=trust",
      "--no-sync",
      "-E",
      "UTF8",
    ]);
  }

  /** pg_ctl start -w: returns once the server accepts connections. */
  async start(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      "-c listen_addresses=127.0.0.1",
      "-c max_connections=200",
      "-c shared_buffers=32MB",
      // A process crash (immediate stop) keeps the OS page cache: fsync only matters for a
      // machine crash, which this harness does not simulate. Commits are still WAL-logged.
      "-c fsync=off",
      "-c full_page_writes=off",
    ].join(" ");
    await this.exec("pg_ctl", [
      "-D",
      join(this.dir, "data"),
      "-o",
      options,
      "-l",
      join(this.dir, "server.log"),
      "-t",
      "120",
      "-w",
      "start",
    ]);
    this.up = true;
  }

  /** pg_ctl stop -m immediate: every server process quits at once, as in a crash. */
  async stopImmediate(): Promise<void> {
    this.up = false;
    await this.exec("pg_ctl", ["-D", join(this.dir, "data"), "-m", "immediate", "-w", "stop"]);
  }

  /** Terminates up to `max` client backends (pg_terminate_backend); returns how many. */
  async terminateBackends(max: number): Promise<number> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000 });
    client.on("error", () => undefined);
    await client.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
          ORDER BY random() LIMIT $1`,
        [max],
      );
      return rows.filter((r) => r.ok).length;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async dispose(): Promise<void> {
    if (existsSync(join(this.dir, "data", "postmaster.pid"))) {
      await this.exec("pg_ctl", ["-D", join(this.dir, "data"), "-m", "immediate", "stop"]).catch(
        () => undefined,
      );
    }
    this.up = false;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
