/** Where the engine gets time. Tests inject their own; production uses the system clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * The latest the time may be (milliseconds since the epoch), ≥ `now()`: what a deadline that
   * must not pass early (a durable sleep, a wait's timeout) is counted from. Default: `now()`.
   */
  latest?(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** What a deadline that must not end early counts from: the clock's `latest()`, else `now()`. */
export function deadlineBase(clock: Clock): number {
  return clock.latest?.() ?? clock.now();
}

/** How fast the local and database clocks may drift apart: 1,000 ppm (NTP slews at most 500). */
const DRIFT_PER_MS = 0.001;

/**
 * The database clock as seen from this process: the local clock plus the offset measured by
 * readings of the database's time. Event times, retry times and deadlines use it, so that workers
 * on machines with different clocks agree with the lease and timer columns.
 *
 * A reading taken between local times `sentAt` and `receivedAt` proves the offset lies in
 * [dbNow - receivedAt, dbNow - sentAt]. The clock keeps the intersection of what its readings
 * proved (each earlier bound widened by the drift possible since), so one slow reading — a server
 * restarting, or this process paused (SIGSTOP, a long GC) between the server's answer and reading
 * it — cannot move it. `now()` is the lower bound: never ahead of the database, so a timer checked
 * against it never fires early. `latest()` is the upper bound: a deadline counted from it never
 * ends early either. A reading that contradicts the earlier ones (a clock was stepped) starts over.
 */
export class CalibratedClock implements Clock {
  private lo = 0;
  private hi = 0;
  /** Local time of the last reading; null before the first. */
  private calibratedAt: number | null = null;
  private last = 0;
  constructor(private readonly local: Clock = systemClock) {}

  /**
   * The local clock, uncorrected: what `sentAt`/`receivedAt` of `calibrate` must be read from
   * (reading `Date.now()` there instead left an injected clock's skew uncorrected).
   */
  localNow(): number {
    return this.local.now();
  }

  /**
   * `dbNow` read from the database; `sentAt`/`receivedAt` local times (`localNow`) around the read.
   * (Taking the middle of the round trip put the clock ahead after a read that waited, and the
   * chaos run saw sleeps end 1.2–2.4 s early; taking the lower bound of each reading alone let a
   * reading answered while the process was paused put it seconds behind, and a sleep counted from
   * it ended up to 3.9 s early.)
   */
  calibrate(dbNow: number, sentAt: number, receivedAt: number): void {
    if (!Number.isFinite(dbNow) || !Number.isFinite(sentAt) || !Number.isFinite(receivedAt)) return;
    const lo = dbNow - Math.max(sentAt, receivedAt);
    const hi = dbNow - Math.min(sentAt, receivedAt);
    if (this.calibratedAt !== null) {
      const drift = DRIFT_PER_MS * Math.abs(receivedAt - this.calibratedAt) + 1;
      const keptLo = Math.max(lo, this.lo - drift);
      const keptHi = Math.min(hi, this.hi + drift);
      if (keptLo <= keptHi) {
        this.lo = keptLo;
        this.hi = keptHi;
        this.calibratedAt = receivedAt;
        return;
      }
    }
    this.lo = lo;
    this.hi = hi;
    this.calibratedAt = receivedAt;
  }

  /** The lower bound. Never goes back, even when a new calibration moves the offset back a little. */
  now(): number {
    const now = Math.round(this.local.now() + this.lo);
    this.last = Math.max(this.last, now);
    return this.last;
  }

  /** The upper bound (see the class): at least `now()`. */
  latest(): number {
    return Math.max(this.now(), Math.ceil(this.local.now() + this.hi));
  }
}
