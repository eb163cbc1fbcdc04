import { describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/core/errors.js";
import { replay } from "../../src/core/reducer.js";
import { defineSaga } from "../../src/engine/definition.js";
import { engineHarness, memoryLogger, untilAborted } from "../helpers/engine.js";
import { waitUntil } from "../helpers/time.js";
import { storeKinds } from "../helpers/stores.js";

describe.each(storeKinds())("engine control: $name", (kind) => {
  const h = engineHarness(kind);

  function cancellable(name: string, calls: string[], entered: () => void) {
    return defineSaga({
      name,
      steps: [
        { name: "a", action: () => calls.push("a"), compensate: () => void calls.push("undo a") },
        {
          name: "wait",
          action: async (_ctx, { signal }) => {
            calls.push("wait started");
            entered();
            await untilAborted(signal);
          },
          compensate: () => void calls.push("undo wait"),
        },
        { name: "never", action: () => calls.push("never") },
      ],
    });
  }

  it("cancel aborts the running step and compensates what completed", async () => {
    const calls: string[] = [];
    let entered!: () => void;
    const inStep = new Promise<void>((r) => (entered = r));
    const orch = await h.orchestrator([cancellable("cancel_me", calls, () => entered())]);
    const run = await orch.start("cancel_me", {});
    await inStep;
    await orch.cancel(run.sagaId);
    const result = await run.result();
    expect(result.status).toBe("compensated");
    expect(result.reason).toBe("cancelled");
    expect(result.error?.code).toBe(ErrorCodes.SAGA_CANCELLED);
    expect(result.state.steps.wait?.status).toBe("aborted");
    expect(calls).toEqual(["a", "wait started", "undo a"]);
    await orch.cancel(run.sagaId).then(
      () => expect.fail("a second cancel of a compensated saga must be refused"),
      (e: unknown) => expect(e).toMatchObject({ code: ErrorCodes.SAGA_INVALID_STATE }),
    );
  });

  it("cancel from another process reaches the worker that runs the saga", async () => {
    const calls: string[] = [];
    let entered!: () => void;
    const inStep = new Promise<void>((r) => (entered = r));
    const saga = cancellable("cancel_remote", calls, () => entered());
    const runner = await h.orchestrator([saga]);
    const operator = await h.orchestrator([saga], { tenantId: runner.tenantId, worker: false });
    const run = await runner.start("cancel_remote", {});
    await inStep;
    await operator.cancel(run.sagaId);
    const result = await operator.handle(run.sagaId).result();
    expect(result.status).toBe("compensated");
    expect(result.reason).toBe("cancelled");
    expect(calls).toEqual(["a", "wait started", "undo a"]);
  });

  it("cancel of a saga sleeping on a retry timer compensates at once", async () => {
    const calls: string[] = [];
    const saga = defineSaga({
      name: "sleepy",
      steps: [
        { name: "a", action: () => calls.push("a"), compensate: () => void calls.push("undo a") },
        {
          name: "b",
          retry: {
            maxAttempts: 3,
            initialDelayMs: 60_000,
            backoff: 1,
            maxDelayMs: 60_000,
            jitter: 0,
          },
          action: () => {
            throw new Error("later");
          },
        },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const run = await orch.start("sleepy", {});
    await waitUntil(
      "step b failed",
      async () => (await orch.get(run.sagaId))?.steps.b?.status === "failed",
    );
    const started = Date.now();
    await orch.cancel(run.sagaId);
    const result = await run.result();
    expect(result.status).toBe("compensated");
    expect(result.reason).toBe("cancelled");
    expect(Date.now() - started).toBeLessThan(30_000); // not after the 60 s timer
    expect(calls).toEqual(["a", "undo a"]);
  });

  it("a saga past its deadline stops the running step and compensates with reason timed_out", async () => {
    const calls: string[] = [];
    let aborted = false;
    const saga = defineSaga({
      name: "deadline",
      timeoutMs: 300,
      steps: [
        { name: "a", action: () => calls.push("a"), compensate: () => void calls.push("undo a") },
        {
          name: "long",
          action: async (_ctx, { signal }) => {
            // Ends only when aborted: if the deadline never aborted it, the test would time out.
            await new Promise((r) => signal.addEventListener("abort", () => r((aborted = true))));
          },
        },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const result = await (await orch.start("deadline", {})).result();
    expect(result.status).toBe("compensated");
    expect(result.reason).toBe("timed_out");
    expect(result.error?.code).toBe(ErrorCodes.SAGA_TIMEOUT);
    expect(aborted).toBe(true);
    expect(calls).toEqual(["a", "undo a"]);
  });

  it("a retry timer is durable: it fires in another orchestrator after a restart", async () => {
    let attempts = 0;
    const saga = defineSaga({
      name: "durable_timer",
      steps: [
        {
          name: "s",
          retry: { maxAttempts: 2, initialDelayMs: 700, backoff: 1, maxDelayMs: 700, jitter: 0 },
          action: () => {
            attempts++;
            if (attempts === 1) throw new Error("first attempt fails");
            return "second";
          },
        },
      ],
    });
    const first = await h.orchestrator([saga]);
    const run = await first.start("durable_timer", {});
    await waitUntil(
      "a retry scheduled",
      async () => (await first.get(run.sagaId))?.steps.s?.retryAt != null,
    );
    await first.close({ graceMs: 0 });
    expect(attempts).toBe(1);
    const second = await h.orchestrator([saga], { tenantId: first.tenantId });
    const result = await second.handle(run.sagaId).result();
    expect(result.status).toBe("completed");
    expect(result.results).toEqual({ s: "second" });
    const failed = result.state.steps.s!;
    expect(failed.attempts).toBe(2);
    const events = await second.events(run.sagaId);
    const failure = events.find((e) => e.type === "StepFailed");
    const retry = events.filter((e) => e.type === "StepStarted")[1];
    expect(retry!.at).toBeGreaterThanOrEqual((failure as { retryAt: number }).retryAt);
  });

  it("pins an instance to its version: a worker without it leaves it alone and says so", async () => {
    const v1Calls: string[] = [];
    const v1 = defineSaga({
      name: "versioned",
      version: 1,
      steps: [
        {
          name: "s",
          retry: { maxAttempts: 2, initialDelayMs: 300, backoff: 1, maxDelayMs: 300, jitter: 0 },
          action: (ctx) => {
            v1Calls.push(`v1 attempt ${ctx.attempt}`);
            if (ctx.attempt === 1) throw new Error("retry me");
            return "v1";
          },
        },
      ],
    });
    const v2 = defineSaga({
      name: "versioned",
      version: 2,
      steps: [{ name: "s", action: () => "v2" }],
    });
    const starter = await h.orchestrator([v1]);
    const run = await starter.start("versioned", {});
    await waitUntil(
      "a retry scheduled",
      async () => (await starter.get(run.sagaId))?.steps.s?.retryAt != null,
    );
    await starter.close({ graceMs: 0 });

    const logger = memoryLogger();
    const onlyV2 = await h.orchestrator([v2], { tenantId: starter.tenantId, logger });
    await waitUntil(
      "a log line about the saga",
      () => logger.lines.some((l) => l.message.includes(run.sagaId)),
      { timeoutMs: 15_000 },
    );
    const line = logger.lines.find((l) => l.message.includes(run.sagaId))!;
    expect(line.level).toBe("warn");
    expect(line.message).toContain("versioned v1");
    expect((await onlyV2.get(run.sagaId))?.status).toBe("running");

    const withV1 = await h.orchestrator([v1, v2], { tenantId: starter.tenantId });
    const result = await withV1.handle(run.sagaId).result();
    expect(result.status).toBe("completed");
    expect(result.results).toEqual({ s: "v1" });
    expect(v1Calls).toEqual(["v1 attempt 1", "v1 attempt 2"]);
    // New starts take the latest version.
    const latest = await withV1.start("versioned", {});
    expect((await latest.result()).results).toEqual({ s: "v2" });
  });

  it("rebuilds every stored projection exactly from its events", async () => {
    const saga = defineSaga<{ fail: boolean }>({
      name: "mixed",
      steps: [
        { name: "a", action: () => ({ n: 1 }), compensate: () => undefined },
        {
          name: "g",
          parallel: [
            { name: "b", action: () => "b" },
            {
              name: "c",
              action: (ctx) => {
                if (ctx.input.fail) throw new Error("x");
                return "c";
              },
              retry: { maxAttempts: 2, initialDelayMs: 1, backoff: 1, maxDelayMs: 1, jitter: 0 },
              compensate: () => undefined,
            },
          ],
        },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const runs = await Promise.all(
      [true, false, true, false].map((fail) => orch.start("mixed", { fail })),
    );
    for (const run of runs) {
      const result = await run.result();
      expect(replay(await orch.events(run.sagaId))).toEqual(result.state);
      expect(await orch.get(run.sagaId)).toEqual(result.state);
    }
  });

  it("close() hands unfinished sagas back so another orchestrator resumes them at once", async () => {
    let calls = 0;
    let entered!: () => void;
    const inStep = new Promise<void>((r) => (entered = r));
    const saga = defineSaga({
      name: "handover",
      steps: [
        {
          name: "slow",
          action: async (ctx, { signal }) => {
            calls++;
            if (ctx.attempt === 1) {
              entered();
              await untilAborted(signal);
            }
            return ctx.attempt;
          },
        },
      ],
    });
    const first = await h.orchestrator([saga], { leaseMs: 60_000 });
    const run = await first.start("handover", {});
    await inStep;
    await first.close({ graceMs: 0 });
    await expect(first.start("handover", {})).rejects.toMatchObject({
      code: ErrorCodes.SAGA_ORCHESTRATOR_CLOSED,
    });
    const second = await h.orchestrator([saga], { tenantId: first.tenantId, leaseMs: 60_000 });
    const result = await second.handle(run.sagaId).result();
    expect(result.status).toBe("completed");
    expect(result.results).toEqual({ slow: 2 });
    expect(calls).toBe(2);
  });
});
