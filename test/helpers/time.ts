/** Waits `ms` milliseconds of real time. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface WaitOptions {
  /** How long to poll before failing (default 10 s). */
  timeoutMs?: number;
  /** Pause between two checks (default 20 ms). */
  intervalMs?: number;
  /**
   * Keep polling when `check` throws (a process still starting, a request refused), and name the
   * last error when time runs out. By default a throw fails the wait at once.
   */
  retryErrors?: boolean;
}

/** What a check returns while the awaited thing is not there yet. */
type NotYet = false | null | undefined;

/**
 * Polls `check` until it returns something other than false, null or undefined, and resolves to
 * that value. Fails after `timeoutMs` with an error naming `what` was awaited (a function is read
 * then, so the message can tell how far things got).
 * @example await waitUntil("the saga compensated", async () => (await o.get(id))?.status === "compensated");
 * @example const text = await waitUntil("the metric", async () => ((await get()).includes("x") ? text : undefined));
 */
export async function waitUntil<T>(
  what: string | (() => string),
  check: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<Exclude<T, NotYet>> {
  const { timeoutMs = 10_000, intervalMs = 20, retryErrors = false } = options;
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== false && value !== null && value !== undefined)
        return value as Exclude<T, NotYet>;
    } catch (error) {
      if (!retryErrors) throw error;
      lastError = error;
    }
    if (Date.now() > end) {
      const message = lastError instanceof Error ? lastError.message : JSON.stringify(lastError);
      const last = lastError === undefined ? "" : ` (last error: ${message})`;
      const described = typeof what === "string" ? what : what();
      throw new Error(`not within ${timeoutMs} ms: ${described}${last}`);
    }
    await sleep(intervalMs);
  }
}
