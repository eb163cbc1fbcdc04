import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LoopPause, pause } from "../../src/engine/pause.js";

/** Whether `promise` has settled once the pending microtasks ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("pause", () => {
  it("resolves after ms, not before", async () => {
    const p = pause(1_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(await settled(p)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(p)).toBe(true);
  });

  it("resolves as soon as the signal aborts, and leaves no timer behind", async () => {
    const controller = new AbortController();
    const p = pause(60_000, controller.signal);
    expect(await settled(p)).toBe(false);
    controller.abort();
    expect(await settled(p)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("resolves at once on a signal that has already aborted", async () => {
    expect(await settled(pause(60_000, AbortSignal.abort()))).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("with ms = null waits for the signal only", async () => {
    const controller = new AbortController();
    const p = pause(null, controller.signal);
    await vi.advanceTimersByTimeAsync(10 * 86_400_000);
    expect(await settled(p)).toBe(false);
    controller.abort();
    expect(await settled(p)).toBe(true);
  });
});

describe("LoopPause", () => {
  it("sleep ends after ms without a wake", async () => {
    const loop = new LoopPause();
    const p = loop.sleep(500);
    await vi.advanceTimersByTimeAsync(499);
    expect(await settled(p)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(p)).toBe(true);
  });

  it("nudge() ends the pending sleep early (a stop, or new work)", async () => {
    const loop = new LoopPause();
    const p = loop.sleep(null);
    expect(await settled(p)).toBe(false);
    loop.nudge();
    expect(await settled(p)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("drops a nudge() while no sleep is pending: the next sleep lasts its time", async () => {
    const loop = new LoopPause();
    loop.nudge();
    const p = loop.sleep(500);
    expect(await settled(p)).toBe(false);
    await vi.advanceTimersByTimeAsync(500);
    expect(await settled(p)).toBe(true);
  });

  it("wakes each sleep once: a later sleep is not ended by an earlier wake", async () => {
    const loop = new LoopPause();
    const first = loop.sleep(10_000);
    loop.nudge();
    expect(await settled(first)).toBe(true);
    const second = loop.sleep(10_000);
    expect(await settled(second)).toBe(false);
    loop.nudge();
    expect(await settled(second)).toBe(true);
  });
});
