import { describe, expect, it } from "vitest";
import { CalibratedClock } from "../../src/engine/clock.js";
import { FakeClock } from "../helpers/fake-clock.js";

// The engine's clock: the local clock corrected by the offset to the database's clock.
describe("CalibratedClock", () => {
  it("is the local clock until calibrated, and localNow stays uncorrected", () => {
    const local = new FakeClock(1_000_000);
    const clock = new CalibratedClock(local);
    expect(clock.now()).toBe(1_000_000);
    clock.calibrate(1_005_000, 999_990, 1_000_010); // the database is 5 s ahead
    expect(clock.now()).toBe(1_005_000);
    expect(clock.localNow()).toBe(1_000_000);
    local.advance(250);
    expect(clock.now()).toBe(1_005_250);
  });

  it("takes the database reading as of the middle of the round trip", () => {
    const clock = new CalibratedClock(new FakeClock(2_000));
    clock.calibrate(10_000, 1_000, 2_000); // sent at 1 000, answered at 2 000: read at ~1 500
    expect(clock.now()).toBe(10_500);
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
