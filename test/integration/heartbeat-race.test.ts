import { describe, expect, it } from "vitest";
import { defineSaga, type SagaDefinition } from "../../src/engine/definition.js";
import { engineHarness } from "../helpers/engine.js";
import { storeKinds } from "../helpers/stores.js";
import { sleep } from "../helpers/time.js";

// Regression: a heartbeat that renews leases while a new saga's create commits must not take
// the new saga's lease for lost (it was not part of the renewal): the runner stopped, and the
// saga waited for its lease to expire before another claim re-ran the step (attempt 2).

const quick = defineSaga({
  name: "heartbeat_race",
  steps: [
    {
      name: "a",
      action: async () => {
        await sleep(5);
        return "a";
      },
    },
    { name: "b", action: () => "b" },
  ],
}) as unknown as SagaDefinition<never>;

describe.each(storeKinds())("heartbeat during starts: $name", (kind) => {
  const harness = engineHarness(kind);

  it("no saga started during a lease renewal is stopped and re-run", async () => {
    const orchestrator = await harness.orchestrator([quick], { heartbeatMs: 10 });
    const handles = [];
    for (let i = 0; i < 60; i++) {
      handles.push(await orchestrator.start("heartbeat_race", { i }));
      await sleep(2);
    }
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results.every((r) => r.status === "completed")).toBe(true);
    for (const h of handles) {
      const attempts = (await orchestrator.events(h.sagaId)).flatMap((e) =>
        e.type === "StepStarted" ? [e.attempt] : [],
      );
      expect(attempts, h.sagaId).toEqual([1, 1]);
    }
  });
});
