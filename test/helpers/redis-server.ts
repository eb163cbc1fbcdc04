import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { sleep } from "./time.js";

const run = promisify(execFile);

/**
 * A redis-server of the test's own, on a free port and without persistence, so that a test can
 * shut it down and start it again without disturbing the tests that share the local Redis.
 */
export class RedisServerProcess {
  private child: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), "saga-redis-"));
  private readonly killOnExit = () => this.child?.kill("SIGKILL");

  private constructor(readonly port: number) {
    process.once("exit", this.killOnExit);
  }

  static async create(): Promise<RedisServerProcess> {
    return new RedisServerProcess(await freePort());
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server and waits until it answers PING (10 s at most). */
  async start(): Promise<void> {
    if (this.child) throw new Error("redis-server is already running");
    const child = spawn(
      "redis-server",
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        this.dir,
        "--logfile",
        join(this.dir, "redis.log"),
      ],
      { stdio: "ignore" },
    );
    this.child = child;
    child.once("exit", () => {
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + 10_000;
    while (!(await this.answers())) {
      if (Date.now() > deadline || !this.child)
        throw new Error(`redis-server on port ${this.port} did not start within 10 s`);
      await sleep(50);
    }
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

  /** Stops the server for good and removes its directory. */
  async dispose(): Promise<void> {
    await this.shutdown();
    process.removeListener("exit", this.killOnExit);
    rmSync(this.dir, { recursive: true, force: true });
  }

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
      return (await client.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
