import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ChildMessage, ChildTask } from "./types.js";

const CHILD = fileURLToPath(new URL("../child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface ChildOptions {
  /** Run in a new network namespace with only loopback (for servers that phone home). */
  isolateNetwork?: boolean;
  /** Extra node flags, e.g. --cpu-prof, --expose-gc. */
  nodeFlags?: string[];
  /** Called (not queued) when the child says its measured window starts or ends. */
  onEdge?: (edge: "start" | "end") => void;
}

/** A running child: its messages in order, its exit, and the tail of its output. */
export class Child {
  readonly proc: ChildProcess;
  readonly spawnedAt = performance.now();
  readonly exited: Promise<number | null>;
  private readonly queue: ChildMessage[] = [];
  private waiting: ((m: ChildMessage) => void) | null = null;
  private output = "";

  constructor(task: ChildTask, options: ChildOptions = {}) {
    // The driver sets BENCH_CHILD_JS once it compiled bench/ with ours (see build-ours.ts).
    const compiled = process.env.BENCH_CHILD_JS;
    const node = compiled
      ? [process.execPath, ...(options.nodeFlags ?? []), compiled]
      : [process.execPath, "--import", "tsx", ...(options.nodeFlags ?? []), CHILD];
    const args = [...node, JSON.stringify(task)];
    const [cmd, argv]: [string, string[]] = options.isolateNetwork
      ? ["unshare", ["-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', ...args]]
      : [args[0]!, args.slice(1)];
    this.proc = spawn(cmd, argv, {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-6000));
    this.proc.stdout?.on("data", keep);
    this.proc.stderr?.on("data", keep);
    this.proc.on("message", (m: ChildMessage) => {
      if (m.type === "edge") options.onEdge?.(m.edge);
      else if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(m);
      } else this.queue.push(m);
    });
    this.exited = new Promise((resolve) => this.proc.on("exit", (code) => resolve(code)));
  }

  /** The next message; rejects when the child exits first or sends an error. */
  async next(timeoutMs = 30 * 60_000): Promise<ChildMessage> {
    const queued = this.queue.shift();
    const message =
      queued ??
      (await Promise.race([
        new Promise<ChildMessage>((resolve) => (this.waiting = resolve)),
        this.exited.then((code): ChildMessage => {
          throw new Error(`child exited (code ${code}) without answering:\n${this.tail()}`);
        }),
        new Promise<ChildMessage>((_, reject) =>
          setTimeout(
            () => reject(new Error(`child silent for ${timeoutMs} ms`)),
            timeoutMs,
          ).unref(),
        ),
      ]));
    if (message.type === "error") throw new Error(`${message.message}\n${this.tail()}`);
    return message;
  }

  tail(): string {
    return this.output.trim().split("\n").slice(-25).join("\n");
  }

  /** Waits for the exit; kills it after `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
