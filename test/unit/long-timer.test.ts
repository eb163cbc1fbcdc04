import { describe, expect, it } from "vitest";
import { MAX_TIMER_MS, setLongTimeout } from "../../src/engine/long-timer.js";
import { runAttempt } from "../../src/engine/attempt.js";
import { FakeClock } from "../helpers/fake-clock.js";

const DAY = 86_400_000;

describe("setLongTimeout: timers longer than 2^31 ms are chained, not truncated", () => {
  it("a 30-day delay does not fire before 30 days, and fires then", () => {
    const v = new FakeClock();
    let fired = 0;
    setLongTimeout(() => fired++, 30 * DAY, v.timers);
    expect(v.armed.every((ms) => ms <= MAX_TIMER_MS)).toBe(true);
    v.advance(1);
    expect(fired).toBe(0);
    v.advance(29 * DAY);
    expect(fired).toBe(0);
    v.advance(DAY - 2);
    expect(fired).toBe(0);
    v.advance(1);
    expect(fired).toBe(1);
    expect(v.armed.length).toBe(2); // 2^31-1 ms, then the rest
    expect(v.armed.reduce((a, b) => a + b, 0)).toBe(30 * DAY);
  });

  it("a 365-day delay is chained through 15 timers and fires exactly once", () => {
    const v = new FakeClock();
    let fired = 0;
    setLongTimeout(() => fired++, 365 * DAY, v.timers);
    v.advance(365 * DAY - 1);
    expect(fired).toBe(0);
    v.advance(1);
    expect(fired).toBe(1);
    expect(v.armed.length).toBe(Math.ceil((365 * DAY) / MAX_TIMER_MS));
    v.advance(365 * DAY);
    expect(fired).toBe(1);
  });

  it("clear() stops a chained timer in any of its links", () => {
    const v = new FakeClock();
    let fired = 0;
    const timer = setLongTimeout(() => fired++, 60 * DAY, v.timers);
    v.advance(40 * DAY); // in the second link
    timer.clear();
    v.advance(60 * DAY);
    expect(fired).toBe(0);
    expect(v.pendingTimers).toBe(0);
  });

  it("short, zero and negative delays behave like setTimeout", () => {
    const v = new FakeClock();
    const fired: string[] = [];
    setLongTimeout(() => fired.push("short"), 50, v.timers);
    setLongTimeout(() => fired.push("neg"), -5, v.timers);
    v.advance(1);
    expect(fired).toEqual(["neg"]);
    v.advance(49);
    expect(fired).toEqual(["neg", "short"]);
  });

  it("a step attempt with a 30-day timeout does not time out at once (it did: 2^31 overflow)", async () => {
    const v = new FakeClock();
    let release: (value: string) => void = () => undefined;
    const attempt = runAttempt(() => new Promise<string>((r) => (release = r)), {
      timeoutMs: 30 * DAY,
      timeoutCode: "SAGA_STEP_TIMEOUT",
      timers: v.timers,
    });
    let settled = false;
    void attempt.outcome.then(() => (settled = true));
    v.advance(10); // a truncated timer would have fired here
    await Promise.resolve();
    expect(settled).toBe(false);
    release("done");
    expect(await attempt.outcome).toEqual({ kind: "ok", result: "done" });
  });

  it("the same attempt times out once its 30 days have passed", async () => {
    const v = new FakeClock();
    const attempt = runAttempt(() => new Promise(() => undefined), {
      timeoutMs: 30 * DAY,
      timeoutCode: "SAGA_STEP_TIMEOUT",
      timers: v.timers,
    });
    v.advance(30 * DAY);
    const outcome = await attempt.outcome;
    expect(outcome).toMatchObject({ kind: "error", error: { code: "SAGA_STEP_TIMEOUT" } });
  });
});
