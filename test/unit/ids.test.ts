import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/engine/ids.js";

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Indexes whose id does not sort strictly after the one before it. */
function outOfOrder(ids: string[]): number[] {
  const bad: number[] = [];
  for (let i = 1; i < ids.length; i++) if (!(ids[i]! > ids[i - 1]!)) bad.push(i);
  return bad;
}
const msOf = (id: string): number => parseInt(id.replace(/-/g, "").slice(0, 12), 16);

describe("uuidv7", () => {
  it("is a version 7, variant 10 UUID carrying the milliseconds in its first 48 bits", () => {
    for (const ms of [0, 1, 1_795_313_218_057, 2 ** 48 - 1, Date.now()]) {
      const id = uuidv7(ms);
      expect(id).toMatch(FORMAT);
      expect(msOf(id)).toBe(ms);
    }
  });

  it("sorts in creation order, within a millisecond too, and never repeats (100,000 ids)", () => {
    const ids: string[] = [];
    for (let i = 0; i < 100_000; i++) ids.push(uuidv7(1_800_000_000_000 + Math.floor(i / 100)));
    expect(new Set(ids).size).toBe(ids.length);
    expect(outOfOrder(ids)).toEqual([]);
    expect(ids.filter((id) => !FORMAT.test(id))).toEqual([]);
  });

  it("stays in creation order when the clock steps back a little", () => {
    const base = 1_810_000_000_000;
    const a = uuidv7(base);
    const b = uuidv7(base - 5); // a small step back: keeps the last millisecond
    const c = uuidv7(base - 3_000);
    expect(b > a).toBe(true);
    expect(c > b).toBe(true);
    expect(msOf(b)).toBe(base);
    expect(msOf(c)).toBe(base);
  });

  it("follows the clock when it steps back more than 10 s instead of staying ahead of it", () => {
    const base = 1_820_000_000_000;
    uuidv7(base);
    expect(msOf(uuidv7(base - 60_000))).toBe(base - 60_000);
  });

  it("borrows the next millisecond when one millisecond's counter runs out", () => {
    const ms = 1_830_000_000_000;
    const ids: string[] = [];
    // 2^18 ids is the counter's whole range: at least half of them fit in the first millisecond.
    for (let i = 0; i < 2 ** 18 + 10; i++) ids.push(uuidv7(ms));
    expect(outOfOrder(ids)).toEqual([]);
    expect(msOf(ids[0]!)).toBe(ms);
    expect(msOf(ids.at(-1)!)).toBe(ms + 1);
    expect(ids.filter((id) => msOf(id) === ms).length).toBeGreaterThanOrEqual(2 ** 17);
  });
});
