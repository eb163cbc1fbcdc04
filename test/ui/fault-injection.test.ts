// Rehearse a failure: a fault given at start fails one attempt on purpose, is recorded in
// SagaStarted and in the stored state, and the saga compensates (or retries) as it would for real.
import { describe, expect, it } from "vitest";
import { ErrorCodes, TerminalError } from "../../src/core/errors.js";
import type { FaultDirective } from "../../src/core/events.js";
import { defineSaga } from "../../src/engine/definition.js";
import { engineHarness } from "../helpers/engine.js";
import { storeKinds } from "../helpers/stores.js";

const fault = (patch: Partial<FaultDirective>): FaultDirective => ({
  step: "b",
  attempt: 1,
  phase: "forward",
  code: ErrorCodes.SAGA_FAULT_INJECTED,
  message: "rehearsal",
  retryable: false,
  ...patch,
});

function counted() {
  const ran: string[] = [];
  const step = (name: string) => ({
    name,
    action: (ctx: { attempt: number }) => (ran.push(`${name}#${ctx.attempt}`), { name }),
    compensate: () => (ran.push(`undo ${name}`), null),
    retry: { maxAttempts: 3, initialDelayMs: 10, backoff: 1, maxDelayMs: 10 },
  });
  const saga = defineSaga({ name: "rehearsed", steps: [step("a"), step("b"), step("c")] });
  return { ran, saga, step };
}

describe.each(storeKinds())("fault injection ($name)", (kind) => {
  const h = engineHarness(kind);

  it("fails the chosen attempt instead of running it, records the fault, compensates", async () => {
    const { ran, saga } = counted();
    const orch = await h.orchestrator([saga]);
    const handle = await orch.start("rehearsed", {}, { fault: fault({}) });
    const result = await handle.result();
    expect(result.status).toBe("compensated");
    expect(ran).toEqual(["a#1", "undo a"]);
    const events = await orch.events(handle.sagaId);
    const started = events[0]!;
    expect(started.type === "SagaStarted" && started.fault).toEqual(fault({}));
    const failed = events.find((e) => e.type === "StepFailed");
    expect(failed).toMatchObject({
      step: "b",
      attempt: 1,
      retryAt: null,
      error: { code: "SAGA_FAULT_INJECTED", retryable: false, details: { injected: true } },
    });
    expect((await orch.get(handle.sagaId))?.fault).toEqual(fault({}));
  });

  it("a retryable fault costs one attempt; the retry runs the step", async () => {
    const { ran, saga } = counted();
    const orch = await h.orchestrator([saga]);
    const handle = await orch.start("rehearsed", {}, { fault: fault({ retryable: true }) });
    expect((await handle.result()).status).toBe("completed");
    expect(ran).toEqual(["a#1", "b#2", "c#1"]);
  });

  it("a fault in a compensation leaves the saga failed for an operator", async () => {
    const { ran, step } = counted();
    const failing = defineSaga({
      name: "rehearsed_undo",
      steps: [
        step("a"),
        step("b"),
        {
          name: "c",
          action: () => {
            throw new TerminalError("c refuses");
          },
        },
      ],
    });
    const orch = await h.orchestrator([failing]);
    const handle = await orch.start(
      "rehearsed_undo",
      {},
      { fault: fault({ step: "a", phase: "compensation", message: "undo refused" }) },
    );
    const result = await handle.result();
    expect(result.status).toBe("failed");
    expect(ran).toEqual(["a#1", "b#1", "undo b"]);
    const state = await orch.get(handle.sagaId);
    expect(state?.failedPhase).toBe("compensation");
    expect(state?.steps.a?.compensationError).toMatchObject({
      code: "SAGA_FAULT_INJECTED",
      message: "undo refused",
    });
  });
});
