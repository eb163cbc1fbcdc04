import { describe, expect, it } from "vitest";
import { CalibratedClock } from "../../src/engine/clock.js";
import { FakeClock } from "../helpers/fake-clock.js";

// The engine's clock: the local clock corrected by the offset to the database's clock.
describe("CalibratedClock", () => {
  it("is the local clock until calibrated, and localNow stays uncorrected", () => {
    const local = new FakeClock(1_000_000);
    const clock = new CalibratedClock(local);
    expect(clock.now()).toBe(1_000_000);
    clock.calibrate(1_005_000, 999_990, 1_000_010); // the database is 5 s ahead (±10 ms)
    expect(clock.now()).toBe(1_004_990); // as of the answer: at most the round trip behind
    expect(clock.localNow()).toBe(1_000_000);
    local.advance(250);
    expect(clock.now()).toBe(1_005_240);
  });

  it("takes the database reading as of the end of the round trip: never ahead of the database", () => {
    const clock = new CalibratedClock(new FakeClock(2_000));
    clock.calibrate(10_000, 1_000, 2_000); // sent at 1 000, answered at 2 000: read in between
    expect(clock.now()).toBe(10_000);
  });

  it("is not put ahead by a reading that waited (a server restarting): the chaos run's early timers", () => {
    // The true offset is +5 000 (the database is 5 s ahead). The query waited 4 s for the server,
    // which read its clock just before answering: at local 104 000, database time 109 000.
    const local = new FakeClock(104_000);
    const clock = new CalibratedClock(local);
    clock.calibrate(109_000, 100_000, 104_000);
    const databaseNow = local.now() + 5_000;
    expect(clock.now()).toBeLessThanOrEqual(databaseNow); // a sleep from now ends no earlier
    expect(clock.now()).toBeGreaterThanOrEqual(databaseNow - 4_000); // behind by ≤ the round trip
    // The middle of the round trip would have put it 2 s ahead (the early sleeps of the run).
    expect(109_000 - (100_000 + 104_000) / 2 + local.now() - databaseNow).toBe(2_000);
  });

  it("never goes back: not when a calibration moves the offset back, nor when the local clock does", () => {
    const local = new FakeClock(1_000_000);
    const clock = new CalibratedClock(local);
    clock.calibrate(1_010_000, 1_000_000, 1_000_000);
    expect(clock.now()).toBe(1_010_000);
    clock.calibrate(1_002_000, 1_000_000, 1_000_000); // the offset shrinks from 10 s to 2 s
    expect(clock.now()).toBe(1_010_000);
    local.set(990_000); // the local clock steps back 10 s
    expect(clock.now()).toBe(1_010_000);
    local.set(1_009_000);
    expect(clock.now()).toBe(1_011_000); // moves on once the corrected time passes the last one
  });
});
