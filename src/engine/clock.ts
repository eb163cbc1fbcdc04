/** Where the engine gets time. Tests inject their own; production uses the system clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * The database clock as seen from this process: the local clock plus the offset measured at the
 * last reading of the database's time. Event times, retry times and deadlines use it, so that
 * workers on machines with different clocks agree with the lease and timer columns.
 */
export class CalibratedClock implements Clock {
  private offset = 0;
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
   * The database read its clock somewhere in that round trip, so the true offset lies between
   * `dbNow - receivedAt` and `dbNow - sentAt`. The lower bound is taken: this clock is never ahead
   * of the database's, so a durable timer computed from it never fires early. (The middle of the
   * round trip was taken before: a read that waited for a restarting server put the clock up to
   * half the wait ahead, and the chaos run saw sleeps end 1.2–2.4 s early.) The cost is a clock
   * behind by up to one round trip: timers late by that much.
   */
  calibrate(dbNow: number, sentAt: number, receivedAt: number): void {
    this.offset = dbNow - Math.max(sentAt, receivedAt);
  }

  /** Never goes back, even when a new calibration moves the offset back a little. */
  now(): number {
    const now = Math.round(this.local.now() + this.offset);
    this.last = Math.max(this.last, now);
    return this.last;
  }
}
