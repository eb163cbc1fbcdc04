import { ErrorCodes } from "../core/errors.js";
import { HttpError } from "./http-errors.js";

/**
 * Saga starts per second per tenant through the API: a token bucket per tenant holding up to two
 * seconds' worth of starts, refilled continuously. Past it, 429 START_RATE_LIMITED with the
 * seconds to wait. Keeps one tenant from filling the store and the workers' queue for everyone.
 */
export class StartQuota {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.burst = Math.max(1, perSecond * 2);
  }

  /** Takes one start from the tenant's bucket, or throws 429 START_RATE_LIMITED. */
  take(tenantId: string): void {
    const now = this.now();
    let b = this.buckets.get(tenantId);
    if (!b) {
      if (this.buckets.size >= 10_000) this.prune(now);
      this.buckets.set(tenantId, (b = { tokens: this.burst, at: now }));
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const wait = Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
    throw new HttpError(
      429,
      ErrorCodes.START_RATE_LIMITED,
      `this tenant may start ${this.perSecond} sagas per second through the API; retry in ${wait} s`,
      { limit: this.perSecond, retry_after_seconds: wait },
    );
  }

  /** Forgets tenants whose bucket is full again (they would start from a full bucket anyway). */
  private prune(now: number): void {
    for (const [tenant, b] of this.buckets)
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst)
        this.buckets.delete(tenant);
  }
}
