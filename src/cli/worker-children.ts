import { spawn, type ChildProcess } from "node:child_process";
import { cappedBackoff, type BackoffShape } from "../core/retry.js";
import type { Logger } from "../engine/logger.js";

export interface WorkerChildrenOptions {
  count: number;
  /** The CLI arguments of child `index` in its `incarnation` (0 first, +1 per restart). */
  args: (index: number, incarnation: number) => string[];
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Delay before restarting a child that died, by deaths in a row. Default 1 s doubling to 30 s. */
  backoff?: BackoffShape;
  /** A child that ran this long was healthy: its next death restarts it after the first delay. */
  healthyAfterMs?: number;
}

interface Slot {
  child: ChildProcess | null;
  exited: Promise<void>;
  incarnation: number;
  deathsInRow: number;
  startedAt: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/**
 * The worker processes of `saga serve --workers N`: N copies of this CLI running `saga worker`.
 * A child that dies is restarted after a capped backoff; `stop()` asks each to drain (SIGTERM)
 * and waits until all have exited. Each child has its own process group, so a terminal's Ctrl-C
 * reaches only this supervisor (which then stops the children once), and an IPC channel, whose
 * end tells a child that its supervisor is gone (it then drains and exits by itself).
 */
export class WorkerChildren {
  private readonly slots: Slot[] = [];
  private stopping = false;

  constructor(private readonly o: WorkerChildrenOptions) {}

  start(): void {
    for (let index = 0; index < this.o.count; index++) {
      const slot: Slot = {
        child: null,
        exited: Promise.resolve(),
        incarnation: 0,
        deathsInRow: 0,
        startedAt: 0,
        restartTimer: undefined,
      };
      this.slots.push(slot);
      this.spawn(index, slot);
    }
  }

  /** SIGTERM to every child (each drains its running steps), then waits for all exits. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      if (slot.child && slot.child.exitCode === null && slot.child.signalCode === null)
        slot.child.kill("SIGTERM");
    }
    await Promise.all(this.slots.map((slot) => slot.exited));
  }

  private spawn(index: number, slot: Slot): void {
    const args = [...process.execArgv, process.argv[1]!, ...this.o.args(index, slot.incarnation)];
    const child = spawn(process.execPath, args, {
      env: this.o.env,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      detached: true,
    });
    slot.child = child;
    slot.startedAt = Date.now();
    slot.exited = new Promise((resolve) => {
      child.once("error", (error) => {
        this.o.logger.error({ worker: index, err: error }, "worker process could not be started");
      });
      child.once("close", (code, signal) => {
        slot.child = null;
        resolve();
        this.died(index, slot, code, signal);
      });
    });
    this.o.logger.info({ worker: index, pid: child.pid }, "worker process started");
  }

  private died(index: number, slot: Slot, code: number | null, signal: string | null): void {
    if (this.stopping) {
      this.o.logger.info({ worker: index, code, signal }, "worker process stopped");
      return;
    }
    const ranMs = Date.now() - slot.startedAt;
    slot.deathsInRow = ranMs >= (this.o.healthyAfterMs ?? 60_000) ? 1 : slot.deathsInRow + 1;
    const delayMs = cappedBackoff(
      slot.deathsInRow,
      this.o.backoff ?? { baseMs: 1_000, maxMs: 30_000 },
    );
    this.o.logger.warn(
      { worker: index, code, signal, ranMs, restartInMs: delayMs },
      "worker process died; restarting it",
    );
    slot.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      slot.incarnation++;
      this.spawn(index, slot);
    }, delayMs);
  }
}
