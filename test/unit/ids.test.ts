import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/engine/ids.js";

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("uuidv7", () => {
  it("is a version 7, variant 10 UUID carrying the milliseconds in its first 48 bits", () => {
    for (const ms of [0, 1, 1_795_313_218_057, 2 ** 48 - 1, Date.now()]) {
      const id = uuidv7(ms);
      expect(id).toMatch(FORMAT);
      expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(ms);
    }
  });

  it("sorts by time and never repeats (100,000 ids, past the 4 KiB random pool many times)", () => {
    const ids: string[] = [];
    for (let i = 0; i < 100_000; i++) ids.push(uuidv7(1_700_000_000_000 + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 10; i < ids.length; i += 10) expect(ids[i]! > ids[i - 1]!).toBe(true);
  });
});
