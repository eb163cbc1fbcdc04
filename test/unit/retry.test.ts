import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validatePlan, type RetryPolicy } from "../../src/core/plan.js";
import { backoffDelay, cappedBackoff, retryAt } from "../../src/core/retry.js";
import { boom, policy, saga, step } from "./support/builders.js";

const NOW = 1_700_000_000_000;

/** Valid policies with integer delays (what validatePlan accepts, as users write them). */
const policyArb: fc.Arbitrary<RetryPolicy> = fc
  .record({
    maxAttempts: fc.integer({ min: 1, max: 20 }),
    initialDelayMs: fc.integer({ min: 0, max: 60_000 }),
    extraMaxDelayMs: fc.integer({ min: 0, max: 600_000 }),
    backoff: fc.double({ min: 1, max: 10, noNaN: true }),
    jitter: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ extraMaxDelayMs, ...p }) => ({ ...p, maxDelayMs: p.initialDelayMs + extraMaxDelayMs }));

const randomArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const attemptArb = fc.integer({ min: 1, max: 60 });

/** The delay before jitter: initial * backoff^(attempt - 1), capped. */
const baseDelay = (p: RetryPolicy, attempt: number) =>
  Math.min(p.maxDelayMs, p.initialDelayMs * Math.pow(p.backoff, attempt - 1));

describe("cappedBackoff", () => {
  it("doubles from baseMs per failure in a row and stops at maxMs", () => {
    const shape = { baseMs: 100, maxMs: 5_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => cappedBackoff(n, shape))).toEqual([
      100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000,
    ]);
  });

  it("treats 0 or fewer failures like the first, and grows by `factor` when given", () => {
    expect(cappedBackoff(0, { baseMs: 50, maxMs: 5_000 })).toBe(50);
    expect(cappedBackoff(-2, { baseMs: 50, maxMs: 5_000 })).toBe(50);
    expect(cappedBackoff(3, { baseMs: 10, maxMs: 5_000, factor: 3 })).toBe(90);
    expect(cappedBackoff(3, { baseMs: 10, maxMs: 5_000, factor: 1 })).toBe(10);
  });

  it("stays at maxMs where the power overflows, and at 0 for a zero base", () => {
    expect(cappedBackoff(5_000, { baseMs: 100, maxMs: 5_000 })).toBe(5_000);
    expect(cappedBackoff(Number.MAX_SAFE_INTEGER, { baseMs: 1, maxMs: 7 })).toBe(7);
    expect(cappedBackoff(5_000, { baseMs: 0, maxMs: 5_000 })).toBe(0);
  });

  it("is backoffDelay without jitter (property)", () => {
    fc.assert(
      fc.property(policyArb, attemptArb, randomArb, (p, attempt, random) => {
        const shape = { baseMs: p.initialDelayMs, maxMs: p.maxDelayMs, factor: p.backoff };
        expect(backoffDelay({ ...p, jitter: 0 }, attempt, random)).toBe(
          Math.round(cappedBackoff(attempt, shape)),
        );
      }),
    );
  });
});

describe("backoffDelay", () => {
  it("doubles from the initial delay and stops at maxDelayMs", () => {
    const p = policy({ initialDelayMs: 100, backoff: 2, maxDelayMs: 1_000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(p, n, 0.5))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it("treats attempt 0 or less like the first", () => {
    const p = policy({ initialDelayMs: 100, jitter: 0 });
    expect(backoffDelay(p, 0, 0)).toBe(100);
    expect(backoffDelay(p, -3, 0)).toBe(100);
  });

  it("randomises exactly the jitter fraction of the delay", () => {
    const p = policy({ initialDelayMs: 1_000, jitter: 0.2 });
    expect(backoffDelay(p, 1, 0)).toBe(800);
    expect(backoffDelay(p, 1, 0.5)).toBe(900);
    expect(backoffDelay(p, 1, 0.999_999)).toBe(1_000);
    const full = policy({ initialDelayMs: 1_000, jitter: 1 });
    expect(backoffDelay(full, 1, 0)).toBe(0);
    expect(backoffDelay(full, 1, 0.25)).toBe(250);
  });

  it("stays within [base * (1 - jitter), base] and never above maxDelayMs (property)", () => {
    fc.assert(
      fc.property(policyArb, attemptArb, randomArb, (p, attempt, random) => {
        const delay = backoffDelay(p, attempt, random);
        const base = baseDelay(p, attempt);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(base * (1 - p.jitter)));
        expect(delay).toBeLessThanOrEqual(Math.ceil(base));
        expect(delay).toBeLessThanOrEqual(p.maxDelayMs);
        expect(delay).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 1_000 },
    );
  });

  it("never decreases from one attempt to the next without jitter (property)", () => {
    fc.assert(
      fc.property(policyArb, attemptArb, randomArb, (p, attempt, random) => {
        const exact = { ...p, jitter: 0 };
        expect(backoffDelay(exact, attempt + 1, random)).toBeGreaterThanOrEqual(
          backoffDelay(exact, attempt, random),
        );
      }),
      { numRuns: 1_000 },
    );
  });

  it("does not depend on random when jitter is 0 (property)", () => {
    fc.assert(
      fc.property(policyArb, attemptArb, randomArb, randomArb, (p, attempt, r1, r2) => {
        const exact = { ...p, jitter: 0 };
        expect(backoffDelay(exact, attempt, r1)).toBe(backoffDelay(exact, attempt, r2));
      }),
    );
  });

  it("stays a finite number at high attempts with a zero initial delay", () => {
    // KNOWN BUG (src/core/retry.ts backoffDelay): 0 * backoff^(n-1) is 0 * Infinity = NaN once
    // backoff^(n-1) overflows (n > 1025 for backoff 2), so retryAt becomes NaN. validatePlan
    // accepts such a policy (any integer maxAttempts >= 1).
    const p = policy({ maxAttempts: 5_000, initialDelayMs: 0, backoff: 2, maxDelayMs: 1_000 });
    expect(validatePlan(saga([{ ...step("a"), retry: p }]))).toEqual([]);
    expect(backoffDelay(p, 1_025, 0.5)).toBe(0);
    expect(backoffDelay(p, 1_026, 0.5)).toBe(0);
    expect(retryAt(p, 1_026, boom(), NOW, 0.5)).toBe(NOW);
  });
});

describe("retryAt", () => {
  const p = policy({ maxAttempts: 3, initialDelayMs: 100, backoff: 2, jitter: 0 });

  it("is now + the backoff delay while attempts remain", () => {
    expect(retryAt(p, 1, boom(), NOW, 0)).toBe(NOW + 100);
    expect(retryAt(p, 2, boom(), NOW, 0)).toBe(NOW + 200);
  });

  it("is null once the attempts used reach maxAttempts", () => {
    expect(retryAt(p, 3, boom(), NOW, 0)).toBeNull();
    expect(retryAt(p, 4, boom(), NOW, 0)).toBeNull();
    expect(retryAt(policy({ maxAttempts: 1 }), 1, boom(), NOW, 0)).toBeNull();
  });

  it("is null for a non-retryable error, whatever the budget", () => {
    expect(retryAt(p, 1, boom("declined", false), NOW, 0)).toBeNull();
  });

  it("is set iff the error is retryable and the budget is not spent, never before now (property)", () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 1, max: 25 }),
        fc.boolean(),
        randomArb,
        (pol, used, retryable, random) => {
          const at = retryAt(pol, used, boom("x", retryable), NOW, random);
          if (retryable && used < pol.maxAttempts) {
            expect(at).toBe(NOW + backoffDelay(pol, used, random));
            expect(at).toBeGreaterThanOrEqual(NOW);
          } else {
            expect(at).toBeNull();
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
