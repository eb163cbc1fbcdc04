import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, afterEach, beforeAll } from "vitest";
import { ledgerDdl } from "../chaos/fixtures/ledger.js";
import {
  CONFIG_ENV,
  type ChildConfig,
  type ChildMessage,
  type LedgerConfig,
  type StoreConfig,
} from "../chaos/fixtures/protocol.js";
import { TEST_DATABASE_URL } from "./services.js";
import { freshSchema } from "./stores.js";
import { sleep } from "./time.js";

const ENTRY = fileURLToPath(new URL("../chaos/fixtures/saga-process.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

type LogMessage = Extract<ChildMessage, { type: "log" }>;

/** What a child prints on stdout, one JSON object a line; `fatal` ends every wait at once. */
interface Message {
  type: string;
}

/**
 * A process started by a test (a saga process, a relay process): its messages, its stderr, and
 * ways to wait and to hurt it.
 */
export class ChaosChild<M extends Message = ChildMessage> {
  readonly messages: M[] = [];
  readonly exited: Promise<Exit>;
  private stderr = "";
  private exit: Exit | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    /** The message standing for a stdout line that is not JSON. */
    unparsed: (line: string) => M,
  ) {
    this.exited = new Promise<Exit>((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        this.notify();
        resolve(this.exit);
      });
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let message: M;
      try {
        message = JSON.parse(line) as M;
      } catch {
        message = unparsed(line);
      }
      this.messages.push(message);
      this.notify();
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-8_000);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exit === null;
  }

  /** Sends a signal (SIGKILL is `kill -9`; SIGSTOP/SIGCONT pause and resume the process). */
  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** The first message (already received or to come) that matches; fails on exit or timeout. */
  waitFor<T extends M>(what: string, match: (m: M) => m is T, timeoutMs: number): Promise<T>;
  waitFor(what: string, match: (m: M) => boolean, timeoutMs: number): Promise<M>;
  waitFor(what: string, match: (m: M) => boolean, timeoutMs: number): Promise<M> {
    return this.until(what, () => this.messages.find((m) => match(m)), timeoutMs);
  }

  /** Waits until `check` holds after a message (e.g. a count of them); fails on exit or timeout. */
  async waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
    await this.until(what, () => check() || undefined, timeoutMs);
  }

  private until<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        const found = probe();
        if (found !== undefined) {
          done();
          resolve(found);
          return true;
        }
        const fatal = this.messages.find((m) => m.type === "fatal");
        if (fatal || !this.alive) {
          done();
          reject(this.failure(`${what}: the process ended or failed first`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(this.failure(`${what}: not seen within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      if (!check()) this.listeners.add(listener);
    });
  }

  /** Waits for the process to end (after a signal); fails after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(this.failure(`exit not seen within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Waits until the kernel reports the process stopped (`T`, after SIGSTOP) or not stopped
   * (after SIGCONT), from /proc/<pid>/stat (Linux).
   */
  async waitUntilStopped(stopped: boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const stat = await readFile(`/proc/${this.pid}/stat`, "utf8");
      // pid (comm) state ...: comm may hold spaces, so read the field after the last ')'.
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if ((state === "T") === stopped) return;
      if (Date.now() > deadline) {
        throw this.failure(`process state ${state}, wanted ${stopped ? "stopped" : "running"}`);
      }
      await sleep(20);
    }
  }

  /** Log lines a saga process printed at this level. */
  logs(level: "info" | "warn" | "error"): LogMessage[] {
    return (this.messages as Message[]).filter(
      (m): m is LogMessage => m.type === "log" && (m as LogMessage).level === level,
    );
  }

  /** The messages of one type. */
  ofType<K extends M["type"]>(type: K): Extract<M, { type: K }>[] {
    return this.messages.filter((m): m is Extract<M, { type: K }> => m.type === type);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private failure(message: string): Error {
    const recent = this.messages
      .slice(-15)
      .map((m) => JSON.stringify(m))
      .join("\n  ");
    const exit = this.exit ? `exited code=${this.exit.code} signal=${this.exit.signal}` : "running";
    return new Error(
      `[${this.name} pid ${this.pid}, ${exit}] ${message}\n` +
        `last messages:\n  ${recent || "(none)"}\nstderr:\n${this.stderr || "(empty)"}`,
    );
  }
}

const running = new Set<ChaosChild<Message>>();

/**
 * Starts `node --import tsx <entry>` with `config` as JSON in the environment variable
 * `configEnv`; `killChaosChildren` ends it after the test.
 */
export function spawnChild<M extends Message>(
  name: string,
  options: { entry: string; configEnv: string; config: unknown; unparsed: (line: string) => M },
): ChaosChild<M> {
  const child = spawn(process.execPath, ["--import", "tsx", options.entry], {
    cwd: ROOT,
    env: { ...process.env, [options.configEnv]: JSON.stringify(options.config) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const chaos = new ChaosChild<M>(name, child, options.unparsed);
  running.add(chaos);
  void chaos.exited.then(() => running.delete(chaos));
  return chaos;
}

/** Starts a saga process (test/chaos/fixtures/saga-process.ts) with `config`. */
export function spawnChaosChild(name: string, config: ChildConfig): ChaosChild {
  return spawnChild<ChildMessage>(name, {
    entry: ENTRY,
    configEnv: CONFIG_ENV,
    config,
    unparsed: (line) => ({ type: "log", level: "info", message: line, fields: { raw: true } }),
  });
}

/** `kill -9` every child still running and wait until they are gone. */
export async function killChaosChildren(): Promise<void> {
  const children = [...running];
  for (const child of children) {
    child.signal("SIGKILL");
    child.signal("SIGCONT");
  }
  await Promise.all(children.map((c) => c.waitForExit(15_000)));
}

/**
 * The set-up shared by the tests that run saga processes on PostgreSQL: a fresh schema with the
 * ledger table (created before the file's tests), a client for plain-SQL checks (closed after
 * them), and every child process killed after each test.
 */
export function useChaosSchema(): {
  schema: string;
  store: StoreConfig;
  ledger: LedgerConfig;
  /** A client connected to the test database, from beforeAll on. */
  db: () => pg.Client;
} {
  const schema = freshSchema();
  let db: pg.Client | undefined;
  beforeAll(async () => {
    db = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(ledgerDdl(schema));
  });
  afterEach(async () => {
    await killChaosChildren();
  });
  afterAll(async () => {
    await db?.end();
  });
  return {
    schema,
    store: { kind: "postgres", url: TEST_DATABASE_URL, schema },
    ledger: { kind: "table", url: TEST_DATABASE_URL, schema },
    db: () => {
      if (!db)
        throw new Error("useChaosSchema: the database client is open only from beforeAll on");
      return db;
    },
  };
}
