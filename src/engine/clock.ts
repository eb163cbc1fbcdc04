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

  /** `dbNow` read from the database; `sentAt`/`receivedAt` local times (`localNow`) around the read. */
  calibrate(dbNow: number, sentAt: number, receivedAt: number): void {
    this.offset = dbNow - (sentAt + receivedAt) / 2;
  }

  /** Never goes back, even when a new calibration moves the offset back a little. */
  now(): number {
    const now = Math.round(this.local.now() + this.offset);
    this.last = Math.max(this.last, now);
    return this.last;
  }
}
