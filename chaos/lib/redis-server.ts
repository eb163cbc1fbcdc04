import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort } from "./rng.js";

const run = promisify(execFile);

/** How the harness's redis-server persists its data. */
export type RedisPersistence = "none" | "aof";

/**
 * A redis-server of the harness's (or a test's) own, on its own port and folder, so that it can
 * be killed, shut down and started again without disturbing anyone using the shared Redis.
 * `aof`: appendonly with `appendfsync always` (every write is in the AOF before Redis answers),
 * reloaded on restart. `none`: no AOF and no RDB, so a restart forgets everything it held.
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

  /** A server on a free port (not started yet). */
  static async create(persistence: RedisPersistence = "none"): Promise<RedisServer> {
    return new RedisServer(await freePort(), persistence);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts redis-server and waits until it answers PING (60 s at most: an AOF may be loading). */
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
      await sleep(50);
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

  /** `redis-cli shutdown nosave`, then waits for the process to end (SIGKILL after 10 s). */
  async shutdown(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    await run("redis-cli", ["-p", String(this.port), "shutdown", "nosave"]).catch(() => undefined);
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the server for good (kill -9) and removes its folder. */
  async dispose(): Promise<void> {
    await this.kill();
    process.removeListener("exit", this.killOnExit);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Whether the server answers PING now. */
  async answers(): Promise<boolean> {
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
