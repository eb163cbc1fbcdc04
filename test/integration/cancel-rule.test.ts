import { describe, expect, it } from "vitest";
import { decide } from "../../src/core/decide.js";
import { TerminalError } from "../../src/core/errors.js";
import type { SagaEvent } from "../../src/core/events.js";
import { applyEvent } from "../../src/core/reducer.js";
import type { SagaState } from "../../src/core/state.js";
import { defineSaga, type SagaDefinition } from "../../src/engine/definition.js";
import { uuidv7 } from "../../src/engine/ids.js";
import { engineHarness } from "../helpers/engine.js";
import { storeKinds, uniqueTenant } from "../helpers/stores.js";
import { waitUntil } from "../helpers/time.js";

/**
 * "Who may be cancelled, and is then due at once" is written twice: in `decide` (a cancel request
 * changes what happens next) and in SQL (requestCancel accepts it and makes the saga due; a commit
 * that leaves a saga failed going forward with a cancel request keeps it due). These tests tie
 * the two together on every status a saga can rest in.
 */

const fast = { initialDelayMs: 5, backoff: 1, maxDelayMs: 5, jitter: 0 };
const hour = 3_600_000;

const sagas = {
  running: defineSaga({
    name: "cr_running",
    steps: [{ name: "a", action: (ctx) => ctx.sleep(hour), compensate: () => undefined }],
  }),
  completed: defineSaga({ name: "cr_completed", steps: [{ name: "a", action: () => 1 }] }),
  compensated: defineSaga({
    name: "cr_compensated",
    steps: [
      { name: "a", action: () => 1, compensate: () => undefined },
      {
        name: "b",
        action: () => {
          throw new TerminalError("no");
        },
      },
    ],
  }),
  failedForward: defineSaga({
    name: "cr_failed_forward",
    onFailure: "pause",
    steps: [
      { name: "a", action: () => 1, compensate: () => undefined },
      {
        name: "b",
        retry: { ...fast, maxAttempts: 1 },
        action: () => {
          throw new Error("human");
        },
      },
    ],
  }),
  failedCompensation: defineSaga({
    name: "cr_failed_compensation",
    steps: [
      {
        name: "a",
        action: () => 1,
        compensationRetry: { ...fast, maxAttempts: 1 },
        compensate: () => {
          throw new Error("cleanup down");
        },
      },
      {
        name: "b",
        action: () => {
          throw new TerminalError("no");
        },
      },
    ],
  }),
  compensating: defineSaga({
    name: "cr_compensating",
    steps: [
      {
        name: "a",
        action: () => 1,
        compensationRetry: {
          initialDelayMs: hour,
          backoff: 1,
          maxDelayMs: hour,
          jitter: 0,
          maxAttempts: 3,
        },
        compensate: () => {
          throw new Error("later");
        },
      },
      {
        name: "b",
        action: () => {
          throw new TerminalError("no");
        },
      },
    ],
  }),
};

type Kind = keyof typeof sagas;

/** Whether a cancel request changes what `decide` does next with this state. */
function decideActsOnCancel(kind: Kind, state: SagaState): boolean {
  const plan = (sagas[kind] as unknown as SagaDefinition<unknown>).plan;
  const input = { now: Date.now(), inFlight: new Set<string>(), evaluate: () => true };
  const without = decide(plan, state, { ...input, cancelRequested: false });
  const withCancel = decide(plan, state, { ...input, cancelRequested: true });
  return JSON.stringify(without) !== JSON.stringify(withCancel);
}

describe.each(storeKinds())("the cancel rule, in decide and in SQL: $name", (kind) => {
  const h = engineHarness(kind);

  it("requestCancel accepts exactly the sagas decide acts on, and leaves them due at once", async () => {
    // A producer: it runs what it starts, claims nothing, so a cancel request stays unanswered.
    const orch = await h.orchestrator(Object.values(sagas), {
      worker: false,
    });
    const ids = {} as Record<Kind, string>;
    const rests: Record<Kind, SagaState["status"]> = {
      running: "running",
      completed: "completed",
      compensated: "compensated",
      failedForward: "failed",
      failedCompensation: "failed",
      compensating: "compensating",
    };
    for (const k of Object.keys(sagas) as Kind[]) {
      const handle = await orch.start(sagas[k].name, {});
      ids[k] = handle.sagaId;
      await waitUntil(`the ${k} saga at rest, unleased`, async () => {
        const saga = await h.store.getSaga(orch.tenantId, handle.sagaId);
        return saga?.state.status === rests[k] && saga.leaseOwner === null;
      });
    }

    const seen: Record<string, { decide: boolean; sql: boolean; due: boolean }> = {};
    for (const k of Object.keys(sagas) as Kind[]) {
      const before = (await h.store.getSaga(orch.tenantId, ids[k]))!.state;
      const request = await h.store.requestCancel(orch.tenantId, ids[k]);
      expect(request.found).toBe(true);
      const sql = request.found && request.accepted;
      const claimed = await h.store.claimById({
        owner: "cancel-rule-test",
        leaseMs: 5_000,
        sagaId: ids[k],
        tenantId: orch.tenantId,
        statuses: [before.status],
        onlyIfDue: true,
      });
      if (claimed) await h.store.releaseLeases("cancel-rule-test", [claimed.lease]);
      seen[k] = { decide: decideActsOnCancel(k, before), sql, due: claimed !== null };
    }
    // Written out, so that a change to either side shows which status moved.
    expect(seen).toEqual({
      running: { decide: true, sql: true, due: true },
      completed: { decide: false, sql: false, due: false },
      compensated: { decide: false, sql: false, due: false },
      failedForward: { decide: true, sql: true, due: true },
      failedCompensation: { decide: false, sql: false, due: false },
      compensating: { decide: false, sql: false, due: false },
    });
  });

  it("a commit that leaves a saga failed going forward keeps an earlier cancel request, and makes it due", async () => {
    const tenantId = uniqueTenant();
    const owner = "cancel-rule-writer";
    const now = Date.now();
    const sagaId = uuidv7(now);
    const started: SagaEvent = {
      type: "SagaStarted",
      at: now,
      sagaId,
      tenantId,
      name: sagas.failedForward.name,
      version: 1,
      input: {},
      idempotencyKey: null,
      correlationId: null,
      attributes: {},
      parent: null,
      deadlineAt: null,
    };
    let state = applyEvent(null, started);
    const created = await h.store.create([
      { state, events: [started], leaseOwner: owner, leaseMs: 10_000, wakeAt: null },
    ]);
    expect(created[0]!.created).toBe(true);
    const lease = created[0]!.created ? created[0]!.lease! : null;

    // The cancel arrives while the worker runs the saga; then its commit says: failed, forward.
    expect(await h.store.requestCancel(tenantId, sagaId)).toMatchObject({ accepted: true });
    const events: SagaEvent[] = [
      { type: "StepStarted", step: "a", attempt: 1, at: now + 1 },
      {
        type: "StepFailed",
        step: "a",
        attempt: 1,
        error: { name: "Error", code: "SAGA_STEP_FAILED", message: "human", retryable: false },
        retryAt: null,
        at: now + 2,
      },
      {
        type: "SagaFailed",
        phase: "forward",
        error: { name: "Error", code: "SAGA_STEP_FAILED", message: "human", retryable: false },
        at: now + 3,
      },
    ];
    for (const e of events) state = applyEvent(state, e);
    expect(state.status).toBe("failed");
    const [result] = await h.store.commit([
      {
        owner,
        lease: lease!,
        expectedSeq: 1,
        events,
        state,
        release: true,
        leaseMs: 10_000,
        wakeAt: null,
      },
    ]);
    expect(result).toMatchObject({ ok: true, cancelRequested: true });

    const stored = await h.store.getSaga(tenantId, sagaId);
    expect(stored?.cancelRequested).toBe(true);
    expect(decideActsOnCancel("failedForward", stored!.state)).toBe(true);
    const claimed = await h.store.claimById({
      owner: "someone",
      leaseMs: 5_000,
      sagaId,
      tenantId,
      statuses: ["failed"],
      onlyIfDue: true,
    });
    expect(claimed?.cancelRequested).toBe(true);
  });
});
