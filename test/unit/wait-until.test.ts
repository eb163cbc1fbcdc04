import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { waitUntil } from "../helpers/time.js";

// The polling helper every test uses: what it returns, and that a timeout names what was awaited.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("waitUntil", () => {
  it("resolves to the first value that is not false, null or undefined", async () => {
    const answers: unknown[] = [undefined, false, null, 0];
    const found = waitUntil("a value", () => answers.shift());
    await vi.advanceTimersByTimeAsync(100);
    await expect(found).resolves.toBe(0);
  });

  it("fails after timeoutMs with a message naming what was awaited", async () => {
    const waiting = waitUntil("the saga compensated", () => false, { timeoutMs: 500 });
    const failed = expect(waiting).rejects.toThrow("not within 500 ms: the saga compensated");
    await vi.advanceTimersByTimeAsync(600);
    await failed;
  });

  it("reads a function `what` when it fails, so the message tells how far things got", async () => {
    let seen = 0;
    const waiting = waitUntil(
      () => `10 messages (seen ${seen})`,
      () => ++seen >= 10,
      { timeoutMs: 50, intervalMs: 20 },
    );
    const failed = expect(waiting).rejects.toThrow(/10 messages \(seen [1-5]\)/);
    await vi.advanceTimersByTimeAsync(100);
    await failed;
  });

  it("fails at once when check throws, unless retryErrors; then it names the last error", async () => {
    await expect(
      waitUntil("x", () => {
        throw new Error("refused");
      }),
    ).rejects.toThrow("refused");

    let calls = 0;
    const retried = waitUntil(
      "the service ready",
      () => {
        if (++calls < 3) throw new Error("ECONNREFUSED");
        return "ready";
      },
      { retryErrors: true },
    );
    await vi.advanceTimersByTimeAsync(100);
    await expect(retried).resolves.toBe("ready");

    const never = waitUntil(
      "the service ready",
      () => {
        throw new Error("ECONNREFUSED");
      },
      { timeoutMs: 100, retryErrors: true },
    );
    const failed = expect(never).rejects.toThrow(
      "not within 100 ms: the service ready (last error: ECONNREFUSED)",
    );
    await vi.advanceTimersByTimeAsync(200);
    await failed;
  });
});
