import type { Clock } from "../../src/engine/clock.js";
import { MAX_TIMER_MS, type TimerFunctions } from "../../src/engine/long-timer.js";

interface Pending {
  at: number;
  fn: () => void;
}

/**
 * A `Clock` that moves only when the test says so, with timers on it (`timers`, the
 * `TimerFunctions` that setLongTimeout and runAttempt take): `advance` runs what comes due, in
 * order. Nothing waits for real.
 * @example
 * const clock = new FakeClock(1_700_000_000_000);
 * setLongTimeout(() => fired++, 30 * DAY, clock.timers);
 * clock.advance(30 * DAY);
 */
export class FakeClock implements Clock {
  /** Every delay asked of `timers.setTimeout`, as asked (before Node's 2^31 ms limit). */
  readonly armed: number[] = [];
  private current: number;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  /** Timer functions on this clock. A delay Node cannot hold becomes 1 ms, as in Node. */
  readonly timers: TimerFunctions = {
    setTimeout: (fn, ms) => {
      const held = ms > MAX_TIMER_MS || ms < 1 || !Number.isFinite(ms) ? 1 : ms;
      this.armed.push(ms);
      this.pending.set(++this.nextId, { at: this.current + held, fn });
      return this.nextId;
    },
    clearTimeout: (id) => {
      this.pending.delete(id as number);
    },
  };

  /** Timers not yet fired nor cleared. */
  get pendingTimers(): number {
    return this.pending.size;
  }

  /** Moves the clock `ms` forward, firing each timer that comes due at its time, in order. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const due = [...this.pending]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.current = due[1].at;
      due[1].fn();
    }
    this.current = end;
  }

  /** Sets the time, forward or back, without firing timers (a clock that jumps); timers keep their due times. */
  set(ms: number): void {
    this.current = ms;
  }
}
