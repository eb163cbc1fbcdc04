import { describe, expect, it } from "vitest";
import { defineSaga } from "../../src/index.js";
import { engineHarness } from "../helpers/engine.js";
import { storeKinds } from "../helpers/stores.js";

// Found by the chaos harness: the engine calibrated its clock to the database with Date.now()
// while it read time from the injected Clock, so a worker whose clock is 5 minutes off stamped
// events 5 minutes off and armed durable timers 5 minutes late (or early).
const SKEWS = [5 * 60_000, -5 * 60_000];

const napper = defineSaga({
  name: "skewed_nap",
  steps: [
    { name: "a", action: () => Promise.resolve("a") },
    { name: "nap", action: (ctx) => ctx.sleep(300) },
    { name: "b", action: () => Promise.resolve("b") },
  ],
});

describe.each(storeKinds())("a worker whose clock is off ($name)", (kind) => {
  const h = engineHarness(kind);

  it.each(SKEWS)(
    "by %i ms keeps database time: events are stamped and timers fire on the database clock",
    async (skew) => {
      const orchestrator = await h.orchestrator([napper], {
        clock: { now: () => Date.now() + skew },
      });
      const before = Date.now();
      const handle = await orchestrator.start("skewed_nap", {});
      const result = await handle.result();
      const after = Date.now();
      expect(result.status).toBe("completed");
      const events = await orchestrator.events(handle.sagaId);
      // This machine's database runs on this machine's clock: every stamp lies in [before, after]
      // give or take the calibration error (half a round trip), far below the skew.
      for (const e of events) {
        expect(e.at).toBeGreaterThan(before - 5_000);
        expect(e.at).toBeLessThan(after + 5_000);
      }
      const napped = events.find((e) => e.type === "StepSuspended")!;
      const woke = events.find((e) => e.type === "StepCompleted" && e.step === "nap")!;
      expect(woke.at - napped.at).toBeGreaterThanOrEqual(300 - 50);
    },
    // Without the fix the +5 min worker sleeps 5 minutes: the test fails by its timeout.
    30_000,
  );
});
