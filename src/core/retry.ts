import type { ErrorInfo } from "./errors.js";
import type { RetryPolicy } from "./plan.js";

/**
 * Delay before the attempt after `failedAttempt` (1-based): `initial * backoff^(n-1)`, capped at
 * `maxDelayMs`, with the `jitter` fraction of it randomised by `random` in [0, 1).
 */
export function backoffDelay(policy: RetryPolicy, failedAttempt: number, random: number): number {
  if (policy.initialDelayMs === 0) return 0;
  const exponent = Math.max(0, failedAttempt - 1);
  // Past the cap the power only overflows: stop at maxDelayMs.
  const grown = policy.initialDelayMs * Math.pow(policy.backoff, exponent);
  const base = Number.isFinite(grown) ? Math.min(policy.maxDelayMs, grown) : policy.maxDelayMs;
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
