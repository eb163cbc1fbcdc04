/**
 * Resolves after `ms` milliseconds (never on its own when `ms` is null), or as soon as `signal`
 * aborts (at once when it already has). Never rejects: the caller checks why it woke up.
 * @example await pause(cappedBackoff(failures, { baseMs: 50, maxMs: 5_000 }), stopSignal);
 */
export function pause(ms: number | null, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    if (ms !== null) timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * The pause of a loop that new work or a stop may cut short: `sleep(ms)` ends after `ms`, or at
 * the next `nudge()`, whichever comes first. A `nudge()` while no sleep is pending is dropped, so
 * the loop looks for work (or at its stop flag) before it sleeps again.
 * @example
 * while (!this.stopping) { await this.work(); await this.pause.sleep(idleMs); }
 * // stop(): this.stopping = true; this.pause.nudge();
 */
export class LoopPause {
  private current: AbortController | null = null;

  /** After `ms` (never on its own when null), or at the next `nudge()`. */
  async sleep(ms: number | null): Promise<void> {
    const controller = new AbortController();
    this.current = controller;
    try {
      await pause(ms, controller.signal);
    } finally {
      if (this.current === controller) this.current = null;
    }
  }

  /** Ends the pending sleep now (see "nudge" in core/GLOSSARY.md). */
  nudge(): void {
    this.current?.abort();
  }
}
