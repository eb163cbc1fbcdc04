import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { CONFIG_ENV, type ChildConfig, type ChildMessage } from "../chaos/fixtures/protocol.js";
import { sleep } from "./time.js";

const ENTRY = fileURLToPath(new URL("../chaos/fixtures/saga-process.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A saga process started by a test: its messages, its stderr, and ways to wait and to hurt it. */
export class ChaosChild {
  readonly messages: ChildMessage[] = [];
  readonly exited: Promise<Exit>;
  private stderr = "";
  private exit: Exit | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise<Exit>((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        this.notify();
        resolve(this.exit);
      });
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let message: ChildMessage;
      try {
        message = JSON.parse(line) as ChildMessage;
      } catch {
        message = { type: "log", level: "info", message: line, fields: { raw: true } };
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
  waitFor<T extends ChildMessage>(
    what: string,
    match: (m: ChildMessage) => m is T,
    timeoutMs: number,
  ): Promise<T>;
  waitFor(
    what: string,
    match: (m: ChildMessage) => boolean,
    timeoutMs: number,
  ): Promise<ChildMessage>;
  waitFor(
    what: string,
    match: (m: ChildMessage) => boolean,
    timeoutMs: number,
  ): Promise<ChildMessage> {
    return new Promise<ChildMessage>((resolve, reject) => {
      const check = (): boolean => {
        const found = this.messages.find((m) => match(m));
        if (found) {
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

  /** Log lines the process printed at this level. */
  logs(level: "info" | "warn" | "error"): Extract<ChildMessage, { type: "log" }>[] {
    return this.messages.filter(
      (m): m is Extract<ChildMessage, { type: "log" }> => m.type === "log" && m.level === level,
    );
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

const running = new Set<ChaosChild>();

/** Starts a saga process (`node --import tsx`); `killChaosChildren` ends it after the test. */
export function spawnChaosChild(name: string, config: ChildConfig): ChaosChild {
  const child = spawn(process.execPath, ["--import", "tsx", ENTRY], {
    cwd: ROOT,
    env: { ...process.env, [CONFIG_ENV]: JSON.stringify(config) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const chaos = new ChaosChild(name, child);
  running.add(chaos);
  void chaos.exited.then(() => running.delete(chaos));
  return chaos;
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
