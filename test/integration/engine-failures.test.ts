import { describe, expect, it } from "vitest";
import { ErrorCodes, TerminalError } from "../../src/core/errors.js";
import { defineSaga } from "../../src/engine/definition.js";
import { engineHarness, untilAborted } from "../helpers/engine.js";
import { storeKinds } from "../helpers/stores.js";
import { sleep } from "../helpers/time.js";

const fast = { initialDelayMs: 5, backoff: 1, maxDelayMs: 5, jitter: 0 };

describe.each(storeKinds())("engine failures: $name", (kind) => {
  const h = engineHarness(kind);

  it("compensates completed steps in reverse completion order after a non-retryable failure", async () => {
    const calls: string[] = [];
    let attemptsOfC = 0;
    const saga = defineSaga({
      name: "unwind",
      retry: { ...fast, maxAttempts: 5 },
      steps: [
        {
          name: "a",
          action: () => (calls.push("a"), { id: "A" }),
          compensate: (ctx) => void calls.push(`undo a ${ctx.results.a.id}`),
        },
        { name: "no_undo", action: () => void calls.push("no_undo") },
        {
          name: "b",
          action: () => (calls.push("b"), "B"),
          compensate: (ctx) =>
            void calls.push(
              `undo b ${ctx.results.b} ${ctx.idempotencyKey.endsWith(":b:compensate")}`,
            ),
        },
        {
          name: "c",
          action: () => {
            attemptsOfC++;
            throw new TerminalError("card declined", { code: "CARD_DECLINED" });
          },
          compensate: () => void calls.push("undo c"),
        },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const result = await (await orch.start("unwind", {})).result();
    expect(result.status).toBe("compensated");
    expect(result.reason).toBe("step_failed");
    expect(result.error).toMatchObject({
      code: "CARD_DECLINED",
      message: "card declined",
      retryable: false,
    });
    expect(attemptsOfC).toBe(1);
    expect(calls).toEqual(["a", "no_undo", "b", "undo b B true", "undo a A"]);
    expect(result.state.steps.c?.status).toBe("failed");
    expect(result.state.steps.no_undo?.status).toBe("completed");
    expect(result.state.steps.a?.status).toBe("compensated");
  });

  it("honours `retryable: false` on a plain error and gives up after maxAttempts otherwise", async () => {
    let plain = 0;
    let flaky = 0;
    const saga = defineSaga({
      name: "give_up",
      steps: [
        {
          name: "plain",
          retry: { ...fast, maxAttempts: 3 },
          action: (ctx) => {
            plain++;
            if ((ctx.input as { terminal: boolean }).terminal)
              throw Object.assign(new Error("bad request"), { retryable: false });
            return 1;
          },
        },
        {
          name: "flaky",
          retry: { ...fast, maxAttempts: 3 },
          action: () => {
            flaky++;
            throw new Error("down");
          },
        },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const terminal = await (await orch.start("give_up", { terminal: true })).result();
    expect(terminal.status).toBe("compensated");
    expect(plain).toBe(1);
    const exhausted = await (await orch.start("give_up", { terminal: false })).result();
    expect(exhausted.status).toBe("compensated");
    expect(flaky).toBe(3);
    expect(exhausted.state.steps.flaky?.attempts).toBe(3);
  });

  it("stops in `failed` when a compensation fails for good, and `retry` finishes the compensation", async () => {
    let broken = true;
    const calls: string[] = [];
    const saga = defineSaga({
      name: "stuck_undo",
      steps: [
        { name: "a", action: () => 1, compensate: () => void calls.push("undo a") },
        {
          name: "b",
          action: () => 2,
          compensationRetry: { ...fast, maxAttempts: 2 },
          compensate: () => {
            calls.push("undo b");
            if (broken) throw new Error("cleanup service down");
          },
        },
        {
          name: "c",
          action: () => {
            throw new TerminalError("nope");
          },
        },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const run = await orch.start("stuck_undo", {});
    const failed = await run.result();
    expect(failed.status).toBe("failed");
    expect(failed.state.failedPhase).toBe("compensation");
    expect(failed.error).toMatchObject({ message: "cleanup service down" });
    expect(calls).toEqual(["undo b", "undo b"]);
    expect(failed.state.steps.b?.status).toBe("compensation_failed");
    expect(failed.state.steps.a?.status).toBe("completed"); // not compensated out of order

    broken = false;
    const retried = await orch.retry(run.sagaId);
    const done = await retried.result();
    expect(done.status).toBe("compensated");
    expect(calls).toEqual(["undo b", "undo b", "undo b", "undo a"]);
    expect(done.state.steps.b?.compensationAttempts).toBe(3);
    const types = (await orch.events(run.sagaId)).map((e) => e.type);
    expect(types.slice(types.indexOf("SagaFailed"))).toEqual([
      "SagaFailed",
      "SagaRetried",
      "StepCompensationStarted",
      "StepCompensated",
      "StepCompensationStarted",
      "StepCompensated",
      "SagaCompensated",
    ]);
  });

  it("with onFailure 'pause', waits in `failed`; `retry` resumes forward, `cancel` compensates", async () => {
    let fixed = false;
    const calls: string[] = [];
    const saga = defineSaga({
      name: "paused",
      onFailure: "pause",
      steps: [
        { name: "a", action: () => calls.push("a"), compensate: () => void calls.push("undo a") },
        {
          name: "b",
          retry: { ...fast, maxAttempts: 1 },
          action: () => {
            if (!fixed) throw new Error("needs a human");
            calls.push("b");
          },
        },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const first = await orch.start("paused", {});
    const paused = await first.result();
    expect(paused.status).toBe("failed");
    expect(paused.state.failedPhase).toBe("forward");
    fixed = true;
    const resumed = await (await orch.retry(first.sagaId)).result();
    expect(resumed.status).toBe("completed");
    expect(resumed.state.steps.b?.attempts).toBe(2);

    fixed = false;
    calls.length = 0;
    const second = await orch.start("paused", {});
    expect((await second.result()).status).toBe("failed");
    await orch.cancel(second.sagaId);
    const cancelled = await second.result();
    expect(cancelled.status).toBe("compensated");
    expect(cancelled.reason).toBe("cancelled");
    expect(calls).toEqual(["a", "undo a"]);
  });

  it("times out a step that ignores its signal, counts the attempt, and retries", async () => {
    const aborted: boolean[] = [];
    const saga = defineSaga({
      name: "hangs",
      steps: [
        { name: "a", action: () => 1, compensate: () => undefined },
        {
          name: "stuck",
          timeoutMs: 100,
          retry: { ...fast, maxAttempts: 2 },
          action: (_ctx, { signal }) => {
            signal.addEventListener("abort", () => aborted.push(true));
            return new Promise(() => undefined); // never settles
          },
        },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const result = await (await orch.start("hangs", {})).result();
    expect(result.status).toBe("compensated");
    expect(result.error).toMatchObject({ code: ErrorCodes.SAGA_STEP_TIMEOUT });
    expect(result.state.steps.stuck?.attempts).toBe(2);
    expect(aborted).toEqual([true, true]);
  });

  it("records a thrown non-Error and a non-JSON result as clear errors without crashing the worker", async () => {
    const saga = defineSaga({
      name: "weird",
      retry: { ...fast, maxAttempts: 2 },
      steps: [
        {
          name: "w",
          action: (ctx) => {
            const kind = (ctx.input as { kind: string }).kind;
            if (kind === "string") throw "plain string"; // eslint-disable-line @typescript-eslint/only-throw-error
            if (kind === "object") throw { reason: 42 }; // eslint-disable-line @typescript-eslint/only-throw-error
            if (kind === "bigint") return { n: 10n };
            if (kind === "class") return new Map([[1, 2]]);
            return { when: new Date(0), skip: undefined };
          },
        },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const str = await (await orch.start("weird", { kind: "string" })).result();
    expect(str.error).toMatchObject({
      code: ErrorCodes.SAGA_NON_ERROR_THROWN,
      message: "a non-Error value was thrown: plain string",
    });
    expect(str.state.steps.w?.attempts).toBe(2); // retryable
    const obj = await (await orch.start("weird", { kind: "object" })).result();
    expect(obj.error?.message).toBe('a non-Error value was thrown: {"reason":42}');
    const big = await (await orch.start("weird", { kind: "bigint" })).result();
    expect(big.error).toMatchObject({
      code: ErrorCodes.SAGA_STEP_RESULT_NOT_JSON,
      retryable: false,
    });
    expect(big.error?.message).toContain("bigint at $.n");
    expect(big.state.steps.w?.attempts).toBe(1);
    const cls = await (await orch.start("weird", { kind: "class" })).result();
    expect(cls.error?.message).toContain("instance of Map");
    const ok = await (await orch.start("weird", { kind: "date" })).result();
    expect(ok.status).toBe("completed");
    expect(ok.results).toEqual({ w: { when: "1970-01-01T00:00:00.000Z" } });
    // The worker is still healthy.
    expect((await (await orch.start("weird", { kind: "date" })).result()).status).toBe("completed");
  });

  it("treats a `when` that throws as a terminal failure of that step", async () => {
    const saga = defineSaga({
      name: "bad_when",
      steps: [
        { name: "a", action: () => 1, compensate: () => undefined },
        {
          name: "b",
          when: () => {
            throw new Error("condition exploded");
          },
          action: () => 2,
        },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const result = await (await orch.start("bad_when", {})).result();
    expect(result.status).toBe("compensated");
    expect(result.error?.message).toBe("condition exploded");
    expect(result.state.steps.a?.status).toBe("compensated");
  });

  it("aborts in-flight branches of a parallel group when one fails, and compensates the completed ones", async () => {
    const calls: string[] = [];
    const saga = defineSaga({
      name: "fan_out",
      steps: [
        {
          name: "prepare",
          action: () => calls.push("prepare"),
          compensate: () => void calls.push("undo prepare"),
        },
        {
          name: "group",
          parallel: [
            {
              name: "quick",
              action: () => (calls.push("quick"), "q"),
              compensate: () => void calls.push("undo quick"),
            },
            {
              name: "failing",
              action: async () => {
                await sleep(80);
                throw new TerminalError("branch broke");
              },
              compensate: () => void calls.push("undo failing"),
            },
            {
              name: "slow",
              action: async (_ctx, { signal }) => {
                calls.push("slow started");
                await untilAborted(signal);
              },
              compensate: () => void calls.push("undo slow"),
            },
          ],
        },
        { name: "after", action: () => calls.push("after") },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const result = await (await orch.start("fan_out", {})).result();
    expect(result.status).toBe("compensated");
    expect(result.error?.message).toBe("branch broke");
    expect(result.state.steps.slow?.status).toBe("aborted");
    expect(result.state.steps.slow?.error?.code).toBe(ErrorCodes.SAGA_SIBLING_FAILED);
    expect(calls).toEqual(["prepare", "quick", "slow started", "undo quick", "undo prepare"]);
    const started = (await orch.events(result.sagaId))
      .filter((e) => e.type === "StepStarted")
      .map((e) => e.step);
    expect(started).toEqual(["prepare", "quick", "failing", "slow"]);
  });

  it("runs parallel branches concurrently and continues when all complete", async () => {
    let running = 0;
    let peak = 0;
    const branch = (name: string) => ({
      name,
      action: async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(50);
        running--;
        return name;
      },
    });
    const saga = defineSaga({
      name: "fan_ok",
      steps: [
        { name: "g", parallel: [branch("x"), branch("y"), branch("z")] },
        { name: "join", action: (ctx) => Object.keys(ctx.results).sort().join() },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const result = await (await orch.start("fan_ok", {})).result();
    expect(result.status).toBe("completed");
    expect(peak).toBe(3);
    expect(result.results.join).toBe("x,y,z");
  });
});
