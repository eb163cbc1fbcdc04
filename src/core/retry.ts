import type { ErrorInfo } from "./errors.js";
import type { RetryPolicy } from "./plan.js";

/** How a delay grows with each failure in a row (see `cappedBackoff`). */
export interface BackoffShape {
  /** The delay after the first failure. */
  baseMs: number;
  /** Upper bound of one delay. */
  maxMs: number;
  /** Multiplier of the delay for each further failure (default 2). */
  factor?: number;
}

/**
 * Delay after `failures` failures in a row (1-based; 0 or less counts as 1):
 * `baseMs * factor^(failures-1)`, capped at `maxMs`. The one exponential backoff of the
 * codebase: retry policies (`backoffDelay`) add jitter to it; reconnect and poll loops use it as is.
 * @example cappedBackoff(3, { baseMs: 100, maxMs: 5_000 }) // 400
 */
export function cappedBackoff(failures: number, shape: BackoffShape): number {
  if (shape.baseMs === 0) return 0;
  const exponent = Math.max(0, failures - 1);
  // Past the cap the power only overflows: stop at maxMs.
  const grown = shape.baseMs * Math.pow(shape.factor ?? 2, exponent);
  return Number.isFinite(grown) ? Math.min(shape.maxMs, grown) : shape.maxMs;
}

/**
 * Delay before the attempt after `failedAttempt` (1-based): `initial * backoff^(n-1)`, capped at
 * `maxDelayMs`, with the `jitter` fraction of it randomised by `random` in [0, 1).
 */
export function backoffDelay(policy: RetryPolicy, failedAttempt: number, random: number): number {
  const base = cappedBackoff(failedAttempt, {
    baseMs: policy.initialDelayMs,
    maxMs: policy.maxDelayMs,
    factor: policy.backoff,
  });
  const jittered = base * (1 - policy.jitter) + base * policy.jitter * random;
  return Math.max(0, Math.round(jittered));
}

/** The longest Retry-After honoured (15 minutes): a server cannot park a saga for a day. */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;

/**
 * When to retry after a failed attempt, or null when the policy gives up: the error is not
 * retryable, or `attemptsUsed` (attempts since the last operator retry) reached `maxAttempts`.
 */
export function retryAt(
  policy: RetryPolicy,
  attemptsUsed: number,
  error: ErrorInfo,
  now: number,
  random: number,
): number | null {
  if (!error.retryable || attemptsUsed >= policy.maxAttempts) return null;
  const delay = backoffDelay(policy, attemptsUsed, random);
  // A server's Retry-After (an http step puts it in details.retryAfterMs) is honoured, capped.
  const hinted = (error.details as { retryAfterMs?: unknown } | null | undefined)?.retryAfterMs;
  if (typeof hinted === "number" && Number.isFinite(hinted) && hinted > delay) {
    return now + Math.min(hinted, MAX_RETRY_AFTER_MS);
  }
  return now + delay;
}
