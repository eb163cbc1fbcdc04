import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

/** How the harness's redis-server persists its data. */
export type RedisPersistence = "none" | "aof";

/**
 * A redis-server of the harness's own, on its own port and folder. `aof`: appendonly with
 * `appendfsync always` (every write is in the AOF before Redis answers), reloaded on restart.
 * `none`: no AOF and no RDB, so a kill -9 forgets everything the server held.
 */
export class RedisServer {
  readonly dir = mkdtempSync(join(tmpdir(), "saga-chaos-redis-"));
  private child: ChildProcess | null = null;
  private readonly killOnExit = () => this.child?.kill("SIGKILL");

  constructor(
    readonly port: number,
    readonly persistence: RedisPersistence,
  ) {
    process.once("exit", this.killOnExit);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error("redis-server is already running");
    const persistence =
      this.persistence === "aof"
        ? ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        : ["--appendonly", "no", "--save", ""];
    const child = spawn(
      "redis-server",
      [
        ...["--port", String(this.port), "--bind", "127.0.0.1"],
        ...persistence,
        ...["--dir", this.dir, "--logfile", join(this.dir, "redis.log")],
      ],
      { stdio: "ignore" },
    );
    this.child = child;
    child.once("exit", () => {
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + 60_000;
    while (!(await this.answers())) {
      if (Date.now() > deadline || !this.child)
        throw new Error(`redis-server on port ${this.port} did not start within 60 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** kill -9, and wait until the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }

  async dispose(): Promise<void> {
    await this.kill();
    process.removeListener("exit", this.killOnExit);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async answers(): Promise<boolean> {
    const client = new Redis(this.url, {
      lazyConnect: true,
      connectTimeout: 1_000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on("error", () => undefined);
    try {
      await client.connect();
      // While the AOF loads, Redis answers LOADING: not ready yet.
      return (await client.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  }
}
