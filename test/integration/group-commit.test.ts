import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/core/events.js";
import { applyEvent } from "../../src/core/reducer.js";
import type { SagaState } from "../../src/core/state.js";
import { Batcher } from "../../src/engine/batcher.js";
import { uuidv7 } from "../../src/engine/ids.js";
import type { Commit, CommitResult, Store } from "../../src/engine/store-port.js";
import { storeKinds, uniqueTenant } from "../helpers/stores.js";

describe.each(storeKinds())("group commit with one bad item: $name", (kind) => {
  let store: Store;
  beforeAll(async () => {
    store = await kind.open();
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
  });

  async function leasedSaga(tenantId: string): Promise<SagaState> {
    const now = await store.now();
    const started: SagaEvent = {
      type: "SagaStarted",
      at: now,
      sagaId: uuidv7(),
      tenantId,
      name: "t",
      version: 1,
      input: { n: 1 },
      idempotencyKey: null,
      deadlineAt: null,
    };
    const state = applyEvent(null, started);
    const [created] = await store.create([
      { state, events: [started], leaseOwner: "w1", leaseMs: 30_000, wakeAt: null },
    ]);
    expect(created).toMatchObject({ created: true });
    return state;
  }

  /** A commit appending StepCompleted with `result`; a NUL character is refused by JSONB. */
  function completion(state: SagaState, result: string): Commit {
    const startedStep: SagaEvent = {
      type: "StepStarted",
      at: state.updatedAt + 1,
      step: "a",
      attempt: 1,
    };
    const completed: SagaEvent = {
      type: "StepCompleted",
      at: state.updatedAt + 2,
      step: "a",
      attempt: 1,
      result,
    };
    const next = applyEvent(applyEvent(state, startedStep), completed);
    return {
      owner: "w1",
      lease: { sagaId: state.id, epoch: 1 },
      expectedSeq: state.seq,
      events: [startedStep, completed],
      state: next,
      release: false,
      leaseMs: 30_000,
      wakeAt: null,
    };
  }

  it("the database refuses the whole batch statement for one item's data", async () => {
    const [a, b] = [await leasedSaga(uniqueTenant()), await leasedSaga(uniqueTenant())];
    const batch = [completion(a, "fine"), completion(b, "bad \u0000 row")];
    const thrown = await store.commit(batch).then(
      () => null,
      (error: unknown) => error,
    );
    expect(thrown).not.toBeNull();
    expect(store.isDataError(thrown)).toBe(true);
    expect((await store.getEvents(a.tenantId, a.id)).length).toBe(1);
  });

  it("a batch with one bad item is retried item by item: the others commit", async () => {
    const sagas = [];
    for (let i = 0; i < 4; i++) sagas.push(await leasedSaga(uniqueTenant()));
    const flushed: number[] = [];
    const batcher = new Batcher<Commit, CommitResult>(
      (items) => {
        flushed.push(items.length);
        return store.commit(items);
      },
      { maxBatch: 16, maxConcurrent: 1, isItemFault: (e) => store.isDataError(e) },
    );
    const bad = 2;
    const outcomes = await Promise.allSettled(
      sagas.map((s, i) => batcher.submit(completion(s, i === bad ? "\u0000" : `ok ${i}`))),
    );
    // One batch of four, then each alone.
    expect(flushed).toEqual([4, 1, 1, 1, 1]);
    outcomes.forEach((outcome, i) => {
      if (i === bad) {
        expect(outcome.status).toBe("rejected");
        expect(store.isDataError((outcome as PromiseRejectedResult).reason)).toBe(true);
      } else {
        expect(outcome).toEqual({
          status: "fulfilled",
          value: { ok: true, cancelRequested: false },
        });
      }
    });
    for (const [i, s] of sagas.entries()) {
      const events = await store.getEvents(s.tenantId, s.id);
      expect(events.map((e) => e.event.type)).toEqual(
        i === bad ? ["SagaStarted"] : ["SagaStarted", "StepStarted", "StepCompleted"],
      );
    }
  });

  it("a failure not tied to the data (the database unavailable) fails the batch as before", async () => {
    const flushed: number[] = [];
    const down = Object.assign(new Error("terminating connection"), { code: "57P01" });
    const batcher = new Batcher<number, number>(
      (items) => {
        flushed.push(items.length);
        return Promise.reject(down);
      },
      { maxBatch: 16, maxConcurrent: 1, isItemFault: (e) => store.isDataError(e) },
    );
    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => batcher.submit(n)));
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(flushed).toEqual([3]);
    expect(store.isDataError(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))).toBe(
      false,
    );
  });
});
