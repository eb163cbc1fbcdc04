/**
 * Counts failed authentications per client address in a fixed one-minute window, so that keys
 * and tokens cannot be guessed at full speed (the per-key rate limit only sees callers who
 * authenticated). Past `max` failures a client gets 429 until the window ends.
 */
export class FailedAuthLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the client may try again, or 0 when it may try now. */
  blockedFor(client: string): number {
    const w = this.windows.get(client);
    if (!w || w.resetAt <= this.now()) return 0;
    return w.count >= this.max ? Math.ceil((w.resetAt - this.now()) / 1000) : 0;
  }

  recordFailure(client: string): void {
    const now = this.now();
    const w = this.windows.get(client);
    if (!w || w.resetAt <= now) {
      if (this.windows.size > 10_000) this.prune(now);
      this.windows.set(client, { count: 1, resetAt: now + this.windowMs });
    } else {
      w.count++;
    }
  }

  private prune(now: number): void {
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
  }
}
