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

  it("is not put behind by a reading answered while this process was paused: the second run's early timers", () => {
    // The database is 5 s ahead. A good reading first (2 ms round trip), then one the server
    // answered at once but this process read 7 s later (SIGSTOP between the answer and reading
    // it): alone, it would put the clock 7 s behind, and a sleep counted from it end 7 s early.
    const local = new FakeClock(100_000);
    const clock = new CalibratedClock(local);
    clock.calibrate(105_001, 99_999, 100_001);
    local.advance(1_000);
    clock.calibrate(106_001, 101_000, 108_000); // read by the server at local 101 001
    local.set(108_000);
    const databaseNow = local.now() + 5_000;
    expect(clock.now()).toBeLessThanOrEqual(databaseNow);
    expect(clock.now()).toBeGreaterThanOrEqual(databaseNow - 20); // the good reading's bound, and drift
    expect(clock.latest()).toBeGreaterThanOrEqual(databaseNow);
    expect(clock.latest() - clock.now()).toBeLessThanOrEqual(20);
  });

  it("counts deadlines from an upper bound and checks them against a lower one: a sleep never ends early", () => {
    // Readings with round trips of up to 400 ms, the server reading its clock anywhere in them.
    const offset = 300_000; // the worker's clock is 5 min behind the database's
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const local = new FakeClock(1_000_000);
    const clock = new CalibratedClock(local);
    for (let i = 0; i < 500; i++) {
      const sentAt = local.now();
      const roundTrip = Math.floor(random() * 400);
      const readAt = sentAt + Math.floor(random() * roundTrip);
      local.set(sentAt + roundTrip);
      clock.calibrate(readAt + offset, sentAt, local.now());
      const truth = local.now() + offset;
      expect(clock.now()).toBeLessThanOrEqual(truth);
      expect(clock.latest()).toBeGreaterThanOrEqual(truth);
      // A sleep of 1 s counted now, later seen as over by this clock: 1 s has truly passed.
      const until = clock.latest() + 1_000;
      expect(until).toBeGreaterThanOrEqual(truth + 1_000);
      local.advance(Math.floor(random() * 2_000));
      if (clock.now() >= until) expect(local.now() + offset).toBeGreaterThanOrEqual(truth + 1_000);
    }
  });

  it("ignores a reading that is not a number (the clock stays as it was)", () => {
    const local = new FakeClock(1_000_000);
    const clock = new CalibratedClock(local);
    clock.calibrate(1_005_000, 999_999, 1_000_001);
    clock.calibrate(Number.NaN, 1_000_000, 1_000_001);
    expect(clock.now()).toBe(1_004_999);
    expect(clock.latest()).toBe(1_005_001);
  });

  it("starts over when a reading contradicts the earlier ones (a clock was stepped)", () => {
    const local = new FakeClock(1_000_000);
    const clock = new CalibratedClock(local);
    clock.calibrate(1_005_000, 999_999, 1_000_001);
    local.advance(1_000);
    // The local clock is stepped 60 s forward: the offset is now -55 s.
    local.advance(60_000);
    clock.calibrate(local.now() - 55_000, local.now() - 2, local.now());
    expect(clock.latest()).toBeLessThanOrEqual(local.now() - 55_000 + 2);
    expect(clock.latest()).toBeGreaterThanOrEqual(local.now() - 55_000);
  });
});
