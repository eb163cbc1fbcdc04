import { describe, expect, it } from "vitest";
import { ErrorCodes, SagaError } from "../../src/core/errors.js";
import { replay } from "../../src/core/reducer.js";
import { defineSaga, type StepContext } from "../../src/engine/definition.js";
import { engineHarness } from "../helpers/engine.js";
import { storeKinds } from "../helpers/stores.js";

describe.each(storeKinds())("engine basics: $name", (kind) => {
  const h = engineHarness(kind);

  it("runs steps in order, passes results on, and writes at most one commit per step", async () => {
    const seen: StepContext<unknown>[] = [];
    const saga = defineSaga<{ strategyId: number }>({
      name: "backtest_workflow",
      steps: [
        {
          name: "create_backtest",
          action: (ctx) => (seen.push(ctx), { backtestId: ctx.input.strategyId * 10 }),
        },
        {
          name: "run_strategy",
          action: (ctx) => (seen.push(ctx), { profit: ctx.results.create_backtest.backtestId + 1 }),
        },
        {
          name: "report",
          action: async (ctx) => {
            seen.push(ctx);
            await Promise.resolve();
            return `done ${ctx.results.run_strategy.profit}`;
          },
        },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const run = await orch.start("backtest_workflow", { strategyId: 123 });
    expect(run.created).toBe(true);
    const result = await run.result();
    expect(result.status).toBe("completed");
    expect(result.reason).toBeNull();
    expect(result.results).toEqual({
      create_backtest: { backtestId: 1230 },
      run_strategy: { profit: 1231 },
      report: "done 1231",
    });
    expect(seen.map((c) => [c.step, c.attempt, c.idempotencyKey])).toEqual([
      ["create_backtest", 1, `${run.sagaId}:create_backtest`],
      ["run_strategy", 1, `${run.sagaId}:run_strategy`],
      ["report", 1, `${run.sagaId}:report`],
    ]);
    expect(seen.every((c) => c.sagaId === run.sagaId && c.tenantId === orch.tenantId)).toBe(true);
    const events = await orch.events(run.sagaId);
    expect(events.map((e) => e.type)).toEqual([
      "SagaStarted",
      "StepStarted",
      "StepCompleted",
      "StepStarted",
      "StepCompleted",
      "StepStarted",
      "StepCompleted",
      "SagaCompleted",
    ]);
    // 3 steps: the start (with step 1's start) plus one write per step outcome.
    expect(h.store.writes.sagasWritten.get(run.sagaId)).toBeLessThanOrEqual(4);
    const stored = await orch.get(run.sagaId);
    expect(stored).toEqual(replay(events));
  });

  it("retries a failing step with backoff and the same idempotency key, then succeeds", async () => {
    const keys: string[] = [];
    const saga = defineSaga({
      name: "flaky",
      steps: [
        {
          name: "call",
          retry: { maxAttempts: 4, initialDelayMs: 20, backoff: 2, maxDelayMs: 100, jitter: 0 },
          action: (ctx) => {
            keys.push(ctx.idempotencyKey);
            if (ctx.attempt < 3) throw new Error(`transient ${ctx.attempt}`);
            return { attempt: ctx.attempt };
          },
        },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const run = await orch.start("flaky", {});
    const result = await run.result();
    expect(result.status).toBe("completed");
    expect(result.results).toEqual({ call: { attempt: 3 } });
    expect(keys).toEqual([`${run.sagaId}:call`, `${run.sagaId}:call`, `${run.sagaId}:call`]);
    const failures = (await orch.events(run.sagaId)).filter((e) => e.type === "StepFailed");
    expect(failures).toHaveLength(2);
    for (const [i, f] of failures.entries()) {
      if (f.type !== "StepFailed") throw new Error("unreachable");
      expect(f.error.message).toBe(`transient ${i + 1}`);
      expect(f.retryAt! - f.at).toBe(20 * 2 ** i); // no jitter: exactly the backoff
    }
    expect(result.state.steps.call?.attempts).toBe(3);
  });

  it("skips a step whose `when` is false; the skipped step is never compensated", async () => {
    const calls: string[] = [];
    const saga = defineSaga<{ vip: boolean }>({
      name: "conditional",
      steps: [
        {
          name: "a",
          action: () => (calls.push("a"), 1),
          compensate: () => void calls.push("undo a"),
        },
        {
          name: "vip_gift",
          when: (ctx) => ctx.input.vip && ctx.results.a === 1,
          action: () => calls.push("gift"),
          compensate: () => void calls.push("undo gift"),
        },
        {
          name: "boom",
          action: () => {
            throw new SagaError("X", "no", { retryable: false });
          },
        },
      ],
    });
    const orch = await h.orchestrator([saga]);
    const result = await (await orch.start("conditional", { vip: false })).result();
    expect(result.status).toBe("compensated");
    expect(result.state.steps.vip_gift?.status).toBe("skipped");
    expect(calls).toEqual(["a", "undo a"]);
    calls.length = 0;
    const vip = await (await orch.start("conditional", { vip: true })).result();
    expect(vip.status).toBe("compensated");
    expect(calls).toEqual(["a", "gift", "undo gift", "undo a"]);
  });

  it("starts a saga once per idempotency key, also when the starts race", async () => {
    let runs = 0;
    const saga = defineSaga({ name: "once", steps: [{ name: "s", action: () => ++runs }] });
    const other = defineSaga({ name: "other", steps: [{ name: "s", action: () => 0 }] });
    const orch = await h.orchestrator([saga, other]);
    const first = await orch.start("once", { n: 1 }, { idempotencyKey: "req-42" });
    const again = await orch.start("once", { n: 2 }, { idempotencyKey: "req-42" });
    expect(again.sagaId).toBe(first.sagaId);
    expect(again.created).toBe(false);
    await first.result();
    const raced = await Promise.all(
      [1, 2, 3, 4, 5].map(() => orch.start("once", null, { idempotencyKey: "req-43" })),
    );
    expect(new Set(raced.map((r) => r.sagaId)).size).toBe(1);
    expect(raced.filter((r) => r.created)).toHaveLength(1);
    await raced[0]!.result();
    expect(runs).toBe(2);
    await expect(orch.start("other", null, { idempotencyKey: "req-42" })).rejects.toMatchObject({
      code: ErrorCodes.SAGA_INVALID_STATE,
    });
    // Another tenant has its own keys.
    const elsewhere = await orch.start("once", null, {
      idempotencyKey: "req-42",
      tenantId: "someone-else",
    });
    expect(elsewhere.sagaId).not.toBe(first.sagaId);
    await elsewhere.result().catch(() => undefined);
  });

  it("records attributes and the correlation id, and tells listeners of every write", async () => {
    const saga = defineSaga<{ orderId: string }>({
      name: "with_keys",
      attributes: (input) => ({ orderId: input.orderId }),
      steps: [{ name: "s", action: (ctx) => ctx.correlationId }],
    });
    const orch = await h.orchestrator([saga]);
    const written: string[] = [];
    const stop = orch.onCommitted((state, events) => {
      if (state.name === "with_keys") written.push(...events.map((e) => e.type));
    });
    const run = await orch.start("with_keys", { orderId: "o-77" }, { correlationId: "corr-1" });
    const result = await run.result();
    stop();
    expect(result.results).toEqual({ s: "corr-1" });
    expect(result.state.attributes).toEqual({ orderId: "o-77" });
    expect(result.state.correlationId).toBe("corr-1");
    expect(written).toEqual(["SagaStarted", "StepStarted", "StepCompleted", "SagaCompleted"]);
    const page = await orch.list({ attributes: { orderId: "o-77" } });
    expect(page.items.map((s) => s.id)).toEqual([run.sagaId]);
    await expect(orch.start("with_keys", { orderId: { nested: true } })).rejects.toMatchObject({
      code: ErrorCodes.SAGA_INVALID_INPUT,
    });
  });

  it("answers bad calls with clear errors and stores nothing for them", async () => {
    const saga = defineSaga({ name: "ok", steps: [{ name: "s", action: () => 1 }] });
    const orch = await h.orchestrator([saga]);
    await expect(orch.start("nope", {})).rejects.toMatchObject({
      code: ErrorCodes.SAGA_UNKNOWN_TYPE,
    });
    await expect(orch.start("ok", {}, { version: 9 })).rejects.toMatchObject({
      code: ErrorCodes.SAGA_UNKNOWN_TYPE,
    });
    await expect(orch.start("ok", { f: () => 1 })).rejects.toMatchObject({
      code: ErrorCodes.SAGA_INVALID_INPUT,
      message: expect.stringContaining("$.f") as string,
    });
    await expect(orch.start("ok", {}, { idempotencyKey: "" })).rejects.toMatchObject({
      code: ErrorCodes.SAGA_INVALID_INPUT,
    });
    await expect(orch.cancel("00000000-0000-7000-8000-000000000000")).rejects.toMatchObject({
      code: ErrorCodes.SAGA_NOT_FOUND,
    });
    await expect(orch.cancel("garbage")).rejects.toMatchObject({ code: ErrorCodes.SAGA_NOT_FOUND });
    await expect(orch.retry("garbage")).rejects.toMatchObject({ code: ErrorCodes.SAGA_NOT_FOUND });
    const done = await orch.start("ok", {});
    await done.result();
    await expect(orch.cancel(done.sagaId)).rejects.toMatchObject({
      code: ErrorCodes.SAGA_INVALID_STATE,
    });
    await expect(orch.retry(done.sagaId)).rejects.toMatchObject({
      code: ErrorCodes.SAGA_INVALID_STATE,
    });
    expect((await orch.get(done.sagaId))?.status).toBe("completed");
    expect(await orch.get("garbage")).toBeNull();
  });
});

describe("defineSaga", () => {
  it("lists every problem of an invalid definition", () => {
    const attempt = () =>
      defineSaga({
        name: "bad name!",
        version: 0,
        steps: [
          { name: "a", action: () => 1 },
          { name: "a", action: "nope" as never },
          { name: "g", parallel: [] },
          { name: "r", action: () => 1, retry: { maxAttempts: 0 } },
        ],
      });
    expect(attempt).toThrow(SagaError);
    try {
      attempt();
    } catch (error) {
      const e = error as SagaError;
      expect(e.code).toBe(ErrorCodes.SAGA_INVALID_DEFINITION);
      expect(e.details).toEqual(
        expect.arrayContaining([
          expect.stringContaining("name:"),
          expect.stringContaining("version:"),
          'steps[1].name: duplicate name "a"',
          "steps[1].action: must be a function",
          "steps[2].parallel: needs at least one branch",
          "steps[3].retry.maxAttempts: must be an integer >= 1",
        ]),
      );
    }
  });
});
