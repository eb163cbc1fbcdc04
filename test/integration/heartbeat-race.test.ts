import { describe, expect, it } from "vitest";
import { defineSaga } from "../../src/engine/definition.js";
import type { Store } from "../../src/engine/store-port.js";
import { engineHarness } from "../helpers/engine.js";
import { storeKinds } from "../helpers/stores.js";

// Regression: a heartbeat that renews leases while a new saga's create commits must not take the
// new saga's lease for lost (it was not part of the renewal): the runner stopped, and the saga
// waited for its lease to expire before another claim re-ran the step (attempt 2).
//
// Deterministic: the renewal is held at the store until the new saga's start is durable and its
// step runs, then answered; the step ends only after the heartbeat has judged that answer.

/** Resolves when `open()` is called. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe.each(storeKinds())("heartbeat during starts: $name", (kind) => {
  const harness = engineHarness(kind);

  it("a saga created while a lease renewal is in flight is not stopped and re-run", async () => {
    const longHeld = gate(); // the saga whose lease the renewal carries
    const renewalSent = gate();
    const answerRenewal = gate();
    const renewalJudged = gate();
    const newStepRunning = gate();
    let holdNextRenewal = false;
    const store = harness.store;
    const gated: Store = Object.assign(Object.create(store) as Store, {
      renewLeases: async (...args: Parameters<Store["renewLeases"]>) => {
        if (!holdNextRenewal) return store.renewLeases(...args);
        holdNextRenewal = false;
        const renewed = await store.renewLeases(...args);
        renewalSent.open();
        await answerRenewal.opened;
        // The heartbeat judges the answer in the microtasks after this returns: the new saga's
        // step is let go only after that.
        setImmediate(renewalJudged.open);
        return renewed;
      },
    });
    const long = defineSaga({
      name: "hb_long",
      steps: [{ name: "a", action: async () => (await longHeld.opened, "a") }],
    });
    const quick = defineSaga({
      name: "hb_quick",
      steps: [
        {
          name: "a",
          action: async () => {
            newStepRunning.open();
            await renewalJudged.opened;
            return "a";
          },
        },
        { name: "b", action: () => "b" },
      ],
    });
    const orchestrator = await harness.orchestrator([long, quick], {
      store: gated,
      heartbeatMs: 20,
    });
    const held = await orchestrator.start("hb_long", {});
    holdNextRenewal = true;
    await renewalSent.opened; // a renewal carrying only hb_long's lease is in flight
    const fresh = await orchestrator.start("hb_quick", {}); // its create committed meanwhile
    await newStepRunning.opened;
    answerRenewal.open();

    const result = await fresh.result();
    expect(result.status).toBe("completed");
    const attempts = (await orchestrator.events(fresh.sagaId)).flatMap((e) =>
      e.type === "StepStarted" ? [`${e.step}${e.attempt}`] : [],
    );
    expect(attempts).toEqual(["a1", "b1"]);
    longHeld.open();
    expect((await held.result()).status).toBe("completed");
  });
});
