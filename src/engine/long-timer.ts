/**
 * Node's `setTimeout` holds at most 2^31-1 ms (~24.8 days): a longer delay is replaced by 1 ms,
 * so a 30-day step timeout or saga deadline would fire at once. `setLongTimeout` chains timers of
 * at most that length until the whole delay has passed.
 */

/** The longest delay one Node timer can hold. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The timer functions used (tests inject recording ones). */
export interface TimerFunctions {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const nodeTimers: TimerFunctions = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface LongTimer {
  clear(): void;
}

/**
 * Calls `fn` once `ms` milliseconds have passed, however long that is: timers of at most
 * `MAX_TIMER_MS` are chained. A negative or NaN `ms` counts as 0; `Infinity` never fires.
 * @example const timer = setLongTimeout(() => abort(), 30 * 86_400_000); // 30 days
 */
export function setLongTimeout(
  fn: () => void,
  ms: number,
  timers: TimerFunctions = nodeTimers,
): LongTimer {
  let left = Number.isFinite(ms) ? Math.max(0, ms) : ms > 0 ? Infinity : 0;
  let handle: unknown;
  let cleared = false;
  const arm = () => {
    const chunk = Math.min(left, MAX_TIMER_MS);
    left -= chunk;
    handle = timers.setTimeout(() => {
      if (cleared) return;
      if (left > 0) arm();
      else fn();
    }, chunk);
  };
  arm();
  return {
    clear: () => {
      cleared = true;
      timers.clearTimeout(handle);
    },
  };
}
