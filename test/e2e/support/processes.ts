import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "../../../chaos/lib/rng.js";

export { freePort };

/** The repository root: every process runs `src/cli/main.ts` from here, as `npm run saga` does. */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const MAIN = "src/cli/main.ts";

/** Variables `loadConfig` reads (and `SAGA_URL`, read by the client commands). */
const CONFIG_VARIABLE =
  /^(PORT|HOST|LOG_LEVEL|ENVIRONMENT|DATABASE_URL|REDIS_URL|API_KEYS?|REQUIRE_API_KEY|JWT_\w+|SAGA_\w+|SERVICE_\w+_URL|OTEL_\w+)$/;

/**
 * The test runner's environment without any service setting, plus `extra`: a child sees only the
 * configuration its test gives it, whatever the shell that runs vitest exports.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!CONFIG_VARIABLE.test(name)) env[name] = value;
  return { ...env, ...extra };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const running = new Set<Spawned>();

/** A child process of a test: its output so far, its exit, and bounded waits. */
export class Spawned {
  readonly exited: Promise<Exit>;
  private out = "";
  private err = "";
  private exit: Exit | null = null;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    running.add(this);
    this.exited = new Promise<Exit>((resolve) => {
      child.once("close", (code, signal) => {
        this.exit = { code, signal };
        running.delete(this);
        resolve(this.exit);
      });
    });
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (this.out += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (this.err += chunk));
  }

  get pid(): number {
    return this.child.pid!;
  }
  get stdout(): string {
    return this.out;
  }
  get stderr(): string {
    return this.err;
  }
  get alive(): boolean {
    return this.exit === null;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** Waits for the exit; fails after `timeoutMs` with the output so far (the process is left alone). */
  async waitForExit(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(this.describe(`no exit within ${timeoutMs} ms`))),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A failure message with the process's state and the tail of its output. */
  describe(problem: string): string {
    const state = this.exit
      ? `exited code=${this.exit.code} signal=${this.exit.signal}`
      : "still running";
    return (
      `[${this.name} pid ${this.pid}, ${state}] ${problem}\n` +
      `stdout (tail):\n${this.out.slice(-3_000) || "(empty)"}\n` +
      `stderr (tail):\n${this.err.slice(-3_000) || "(empty)"}`
    );
  }
}

/** Runs `node --import tsx src/cli/main.ts …args` in the repository root. */
export function spawnSaga(name: string, args: readonly string[], env: NodeJS.ProcessEnv): Spawned {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Spawned(name, child);
}

export interface CliResult extends Exit {
  stdout: string;
  stderr: string;
  /** Non-empty stderr lines. */
  errorLines: string[];
}

/**
 * Runs one CLI command to its end (SIGKILL and a failure after `timeoutMs`). The service URL and
 * key come from `args` (`--url`, `--api-key`), never from the environment.
 */
export async function runCli(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = spawnSaga(`saga ${args.join(" ")}`, args, childEnv(options.env));
  try {
    const exit = await child.waitForExit(options.timeoutMs ?? 60_000);
    return {
      ...exit,
      stdout: child.stdout,
      stderr: child.stderr,
      errorLines: child.stderr.split("\n").filter((line) => line.trim() !== ""),
    };
  } finally {
    child.signal("SIGKILL");
  }
}

/** SIGKILL every child still running and wait until each is gone. */
export async function killAllChildren(): Promise<void> {
  const children = [...running];
  children.forEach((c) => c.signal("SIGKILL"));
  await Promise.all(children.map((c) => c.waitForExit(15_000)));
}
