/** The label value every value past the limit is counted under. */
export const OVERFLOW_LABEL = "__overflow__";
const MAX_LENGTH = 128;

/**
 * Bounds the values of one metric label whose values tenants choose (saga types, step names,
 * error codes): the first `limit` distinct values keep their name; every later one, and any value
 * longer than 128 characters, is counted under `__overflow__`. No tenant can grow the scrape (and
 * Prometheus) without bound.
 */
export class LabelGuard {
  private readonly seen = new Set<string>();

  constructor(private readonly limit: number) {}

  value(raw: string): string {
    if (this.seen.has(raw)) return raw;
    if (raw.length > MAX_LENGTH) return OVERFLOW_LABEL;
    if (this.seen.size >= this.limit) return OVERFLOW_LABEL;
    this.seen.add(raw);
    return raw;
  }
}
