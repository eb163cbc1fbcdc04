import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { WORKER_ENV, type WorkerConfig, type WorkerMessage } from "./worker-protocol.js";

const ENTRY = fileURLToPath(new URL("../worker.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** One incarnation of a worker (or relay) process. */
export class WorkerProcess {
  readonly exited: Promise<void>;
  private exitedFlag = false;
  stopped = false;
  ready = false;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  /** Set before the harness kills it: any other exit is a crash worth reporting. */
  killedOnPurpose = false;
  readonly errors: string[] = [];
  /** The last 8 kB of stderr: the whole trace of a crash (the report's JSON keeps it). */
  stderrTail = "";
  /** Settles once stderr is read to its end (or 1 s after the exit, whichever comes first). */
  readonly stderrRead: Promise<void>;

  constructor(
    readonly slot: number,
    readonly config: WorkerConfig,
    private readonly child: ChildProcess,
    onMessage: (w: WorkerProcess, m: WorkerMessage) => void,
  ) {
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        this.exitedFlag = true;
        this.exit = { code, signal };
        resolve();
      }),
    );
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let message: WorkerMessage;
      try {
        message = JSON.parse(line) as WorkerMessage;
      } catch {
        return;
      }
      if (message.t === "ready") this.ready = true;
      if (message.t === "error") this.errors.push(message.error);
      onMessage(this, message);
    });
    // A line written to a process that has just died fails with EPIPE: the harness already treats
    // it as gone (its command counts as unanswered), so the error must not end the harness.
    child.stdin!.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") this.errors.push(`stdin: ${error.message}`);
    });
    child.on("error", (error) => this.errors.push(`process: ${error.message}`));
    child.stderr!.setEncoding("utf8");
    const stderrEnded = new Promise<void>((resolve) => child.stderr!.once("close", resolve));
    this.stderrRead = this.exited.then(() =>
      Promise.race([stderrEnded, new Promise<void>((resolve) => setTimeout(resolve, 1_000))]),
    );
    child.stderr!.on("data", (chunk: string) => {
      this.errors.push(chunk.slice(0, 500));
      if (this.errors.length > 50) this.errors.shift();
      this.stderrTail = (this.stderrTail + chunk).slice(-8_000);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return !this.exitedFlag;
  }

  send(line: string): void {
    if (this.alive) this.child.stdin!.write(`${line}\n`);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
    if (signal === "SIGSTOP") this.stopped = true;
    if (signal === "SIGCONT") this.stopped = false;
  }

  /** kill -9 (resuming it first if stopped, so the kernel reaps it now) and wait for the exit. */
  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.killedOnPurpose = true;
    this.child.kill("SIGKILL");
    this.child.kill("SIGCONT");
    await this.exited;
  }

  /** Resident memory in kB, from /proc (Linux); null when gone. */
  rssKb(): number | null {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
      const match = /VmRSS:\s+(\d+)/.exec(status);
      return match ? Number(match[1]) : null;
    } catch {
      return null;
    }
  }
}

export function spawnWorker(
  slot: number,
  config: WorkerConfig,
  onMessage: (w: WorkerProcess, m: WorkerMessage) => void,
): WorkerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", ENTRY], {
    cwd: ROOT,
    env: { ...process.env, [WORKER_ENV]: JSON.stringify(config) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  return new WorkerProcess(slot, config, child, onMessage);
}
