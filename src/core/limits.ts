/**
 * The bounds on untrusted input and on durations, in one place (docs/security/input-bounds.md
 * lists each one with where it is enforced, its error code and the test that proves it).
 */
export const Limits = {
  /** Deepest nesting of any JSON value from outside (bodies, bus messages, answers, results). */
  JSON_MAX_DEPTH: 64,
  /** Longest timeout, deadline, sleep or wait: 365 days. */
  MAX_DURATION_MS: 365 * 24 * 60 * 60 * 1000,
  /** Longest retry delay (`initialDelayMs`, `maxDelayMs`): 1 day. */
  MAX_RETRY_DELAY_MS: 24 * 60 * 60 * 1000,
  /** Default largest step result (serialised JSON, UTF-8 bytes): 1 MiB. */
  DEFAULT_MAX_STEP_RESULT_BYTES: 1024 * 1024,
  /** Default largest `data` of one event (publish API, bus message, emitted event): 256 KiB. */
  DEFAULT_MAX_EVENT_DATA_BYTES: 256 * 1024,
  /** Largest `data` of one bus message (publish, and entries read from Redis): 1 MiB. */
  MAX_BUS_DATA_BYTES: 1024 * 1024,
  /** Default most events one replay writes to the outbox. */
  DEFAULT_MAX_REPLAY_EVENTS: 10_000,
  /** Upper bound of every configurable size above: 16 MiB. */
  MAX_CONFIGURABLE_BYTES: 16 * 1024 * 1024,
} as const;

/** How every "duration above its maximum" problem reads (SAGA_DURATION_TOO_LONG). */
export const TOO_LONG = "is longer than the maximum";

/** The problem with a duration (ms), or null when it is within [0, max] (or [>0, max]). */
export function durationProblem(
  ms: unknown,
  max: number,
  options: { positive?: boolean } = {},
): string | null {
  if (typeof ms !== "number" || !Number.isFinite(ms))
    return `must be a finite number of milliseconds`;
  if (options.positive ? !(ms > 0) : !(ms >= 0))
    return options.positive ? `must be a positive number of milliseconds` : `must be >= 0`;
  if (ms > max) return `${TOO_LONG} of ${max} ms (${describeMs(max)}); got ${ms}`;
  return null;
}

/** "365 days", "1 day", "15 minutes": for messages. */
export function describeMs(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
    [1000, "second"],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms === size ? "" : "s"}`;
  }
  return `${ms} ms`;
}
