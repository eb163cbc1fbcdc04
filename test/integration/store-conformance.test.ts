import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/core/errors.js";
import type { SagaEvent } from "../../src/core/events.js";
import { applyEvent } from "../../src/core/reducer.js";
import type { SagaState } from "../../src/core/state.js";
import { uuidv7 } from "../../src/engine/ids.js";
import type { Commit, LeaseRef, Store } from "../../src/engine/store-port.js";
import { storeKinds, uniqueTenant } from "../helpers/stores.js";
import { sleep } from "../helpers/time.js";

const refused = (code: string) => ({
  ok: false,
  error: expect.objectContaining({ code }) as unknown,
});

describe.each(storeKinds())("Store conformance: $name", (kind) => {
  let store: Store;
  beforeAll(async () => {
    store = await kind.open();
    await store.migrate();
    await store.migrate(); // idempotent
  });
  afterAll(async () => {
    await store.close();
  });

  async function newSaga(
    tenantId: string,
    options: { owner?: string | null; key?: string | null; name?: string; leaseMs?: number } = {},
  ) {
    const now = await store.now();
    const started: SagaEvent = {
      type: "SagaStarted",
      at: now,
      sagaId: uuidv7(),
      tenantId,
      name: options.name ?? "t",
      version: 1,
      input: { n: 1 },
      idempotencyKey: options.key ?? null,
      deadlineAt: null,
    };
    const state = applyEvent(null, started);
    const [result] = await store.create([
      {
        state,
        events: [started],
        leaseOwner: options.owner === undefined ? "w1" : options.owner,
        leaseMs: options.leaseMs ?? 10_000,
        wakeAt: null,
      },
    ]);
    return { state, result: result! };
  }

  /**
   * A commit by w1 under the first lease (epoch 1) of the step `s` took, keeping the lease; `over`
   * changes any field. (`s.event` null: a commit of the state as it is, with no event.)
   */
  function commitOf(
    s: { event: SagaEvent | null; state: SagaState },
    over: Partial<Commit> = {},
  ): Commit {
    return {
      owner: "w1",
      lease: { sagaId: s.state.id, epoch: 1 },
      expectedSeq: s.event ? s.state.seq - 1 : s.state.seq,
      events: s.event ? [s.event] : [],
      state: s.state,
      release: false,
      leaseMs: 10_000,
      wakeAt: null,
      ...over,
    };
  }

  function step(state: SagaState, draft: Omit<Extract<SagaEvent, { type: "StepStarted" }>, "at">) {
    const event: SagaEvent = { ...draft, at: state.updatedAt + 1 };
    return { event, state: applyEvent(state, event) };
  }

  it("creates a saga with its first event and reads it back, scoped by tenant", async () => {
    const tenant = uniqueTenant();
    const { state, result } = await newSaga(tenant);
    expect(result).toEqual({
      created: true,
      sagaId: state.id,
      lease: { sagaId: state.id, epoch: 1 },
    });
    expect((await store.getSaga(tenant, state.id))?.state).toEqual(state);
    expect((await store.getEvents(tenant, state.id)).map((e) => [e.seq, e.event.type])).toEqual([
      [1, "SagaStarted"],
    ]);
    expect(await store.getSaga("another-tenant", state.id)).toBeNull();
    expect(await store.getEvents("another-tenant", state.id)).toEqual([]);
    expect(await store.getSaga(tenant, "not-a-uuid")).toBeNull();
  });

  it("returns the first saga for a repeated idempotency key, also within one batch", async () => {
    const tenant = uniqueTenant();
    const first = await newSaga(tenant, { key: "k1" });
    const again = await newSaga(tenant, { key: "k1" });
    expect(again.result).toMatchObject({ created: false, sagaId: first.state.id });
    const other = await newSaga(uniqueTenant(), { key: "k1" });
    expect(other.result.created).toBe(true);

    const now = await store.now();
    const twins = [0, 1].map(() => {
      const started: SagaEvent = {
        type: "SagaStarted",
        at: now,
        sagaId: uuidv7(),
        tenantId: tenant,
        name: "t",
        version: 1,
        input: null,
        idempotencyKey: "k2",
        deadlineAt: null,
      };
      return {
        state: applyEvent(null, started),
        events: [started],
        leaseOwner: null,
        leaseMs: 0,
        wakeAt: null,
      };
    });
    const results = await store.create(twins);
    expect(results[0]).toMatchObject({ created: true, sagaId: twins[0]!.state.id });
    expect(results[1]).toMatchObject({ created: false, sagaId: twins[0]!.state.id });
    expect(await store.getEvents(tenant, twins[1]!.state.id)).toEqual([]);
  });

  it("commits many sagas in one batch and refuses only the stale ones", async () => {
    const tenant = uniqueTenant();
    const a = await newSaga(tenant);
    const b = await newSaga(tenant);
    const sa = step(a.state, { type: "StepStarted", step: "s1", attempt: 1 });
    const sb = step(b.state, { type: "StepStarted", step: "s1", attempt: 1 });
    const results = await store.commit([
      commitOf(sa),
      // wrong expected version: nothing of b is written
      commitOf(sb, { expectedSeq: 5 }),
    ]);
    expect(results).toMatchObject([
      { ok: true, cancelRequested: false },
      refused(ErrorCodes.SAGA_VERSION_CONFLICT),
    ]);
    expect((await store.getEvents(tenant, a.state.id)).map((e) => e.seq)).toEqual([1, 2]);
    expect((await store.getEvents(tenant, b.state.id)).map((e) => e.seq)).toEqual([1]);
    expect((await store.getSaga(tenant, b.state.id))?.state).toEqual(b.state);
  });

  it("refuses a write from another owner or an older lease epoch", async () => {
    const tenant = uniqueTenant();
    const a = await newSaga(tenant);
    const s = step(a.state, { type: "StepStarted", step: "s1", attempt: 1 });
    expect(await store.commit([commitOf(s, { owner: "intruder" })])).toMatchObject([
      refused(ErrorCodes.SAGA_LEASE_LOST),
    ]);
    expect(
      await store.commit([commitOf(s, { lease: { sagaId: a.state.id, epoch: 0 } })]),
    ).toMatchObject([refused(ErrorCodes.SAGA_LEASE_LOST)]);
    expect(await store.commit([commitOf(s)])).toEqual([{ ok: true, cancelRequested: false }]);
  });

  it("fences a stale lease holder: after expiry another worker claims, and the old holder's commit is refused", async () => {
    const tenant = uniqueTenant();
    const a = await newSaga(tenant, { name: "fence", leaseMs: 150 });
    await sleep(300);
    const claim = await store.claimDue({
      owner: "w2",
      leaseMs: 10_000,
      limit: 10,
      types: [{ name: "fence", version: 1 }],
    });
    const mine = claim.claimed.find((c) => c.state.id === a.state.id);
    expect(mine?.lease).toEqual({ sagaId: a.state.id, epoch: 2 });
    const s = step(a.state, { type: "StepStarted", step: "s1", attempt: 1 });
    expect(await store.commit([commitOf(s)])).toMatchObject([refused(ErrorCodes.SAGA_LEASE_LOST)]);
    expect(
      await store.commit([commitOf(s, { owner: "w2", lease: { sagaId: a.state.id, epoch: 2 } })]),
    ).toEqual([{ ok: true, cancelRequested: false }]);
    expect((await store.getEvents(tenant, a.state.id)).length).toBe(2);
  });

  it("refuses a write once the writer's own lease expired, even if nobody claimed it", async () => {
    const tenant = uniqueTenant();
    const a = await newSaga(tenant, { leaseMs: 100 });
    await sleep(250);
    const s = step(a.state, { type: "StepStarted", step: "s1", attempt: 1 });
    const result = await store.commit([commitOf(s)]);
    expect(result).toMatchObject([refused(ErrorCodes.SAGA_LEASE_LOST)]);
  });

  it("claims only due, unleased sagas of known types, each by one claimer", async () => {
    const tenant = uniqueTenant();
    const name = `claim_${tenant}`;
    const unleased = await Promise.all([1, 2, 3].map(() => newSaga(tenant, { owner: null, name })));
    const held = await newSaga(tenant, { name }); // leased by w1 for 10 s
    const foreign = await newSaga(tenant, { owner: null, name: `${name}_other` });
    const [c1, c2] = await Promise.all([
      store.claimDue({ owner: "x", leaseMs: 5_000, limit: 2, types: [{ name, version: 1 }] }),
      store.claimDue({ owner: "y", leaseMs: 5_000, limit: 2, types: [{ name, version: 1 }] }),
    ]);
    const ids = [...c1.claimed, ...c2.claimed].map((c) => c.state.id).sort();
    expect(ids).toEqual(unleased.map((u) => u.state.id).sort());
    expect(ids).not.toContain(held.state.id);
    expect(typeof c1.now).toBe("number");
    const unsupported = await store.findDueUnsupported([{ name, version: 1 }], 100);
    expect(unsupported.map((u) => u.sagaId)).toContain(foreign.state.id);
  });

  it("sleeps a saga until its wake time, then makes it claimable", async () => {
    const tenant = uniqueTenant();
    const name = `sleep_${tenant}`;
    const a = await newSaga(tenant, { name });
    const now = await store.now();
    await store.commit([
      commitOf(
        { event: null, state: a.state },
        { events: [], release: true, leaseMs: 0, wakeAt: now + 400 },
      ),
    ]);
    const types = [{ name, version: 1 }];
    expect(
      (await store.claimDue({ owner: "w2", leaseMs: 5_000, limit: 10, types })).claimed,
    ).toEqual([]);
    expect(
      await store.claimById({
        owner: "w2",
        leaseMs: 5_000,
        sagaId: a.state.id,
        tenantId: tenant,
        statuses: ["running"],
        onlyIfDue: true,
      }),
    ).toBeNull();
    await sleep(500);
    const claimed = await store.claimById({
      owner: "w2",
      leaseMs: 5_000,
      sagaId: a.state.id,
      tenantId: tenant,
      statuses: ["running"],
      onlyIfDue: true,
    });
    expect(claimed?.lease.epoch).toBe(2);
  });

  it("renews only leases still held, reports cancel requests, and releases leases", async () => {
    const tenant = uniqueTenant();
    const a = await newSaga(tenant);
    const b = await newSaga(tenant, { leaseMs: 50 });
    await sleep(150);
    const leases: LeaseRef[] = [
      { sagaId: a.state.id, epoch: 1 },
      { sagaId: b.state.id, epoch: 1 },
    ];
    expect(await store.renewLeases("w1", leases, 10_000)).toEqual([
      { sagaId: a.state.id, cancelRequested: false },
    ]);
    const cancel = await store.requestCancel(tenant, a.state.id);
    expect(cancel).toEqual({ found: true, status: "running", leaseOwner: "w1", accepted: true });
    expect(await store.renewLeases("w1", leases, 10_000)).toEqual([
      { sagaId: a.state.id, cancelRequested: true },
    ]);
    await store.releaseLeases("w1", [{ sagaId: a.state.id, epoch: 1 }]);
    expect((await store.getSaga(tenant, a.state.id))?.leaseOwner).toBeNull();
    expect(await store.requestCancel(tenant, uuidv7())).toEqual({ found: false });
    expect(await store.requestCancel("other", a.state.id)).toEqual({ found: false });
  });

  it("keeps appends to one stream consistent under concurrent writers (one wins)", async () => {
    const tenant = uniqueTenant();
    const a = await newSaga(tenant);
    const s = step(a.state, { type: "StepStarted", step: "s1", attempt: 1 });
    const write = commitOf(s);
    const results = await Promise.all([
      store.commit([write]),
      store.commit([write]),
      store.commit([write]),
    ]);
    expect(results.flat().filter((r) => r.ok)).toHaveLength(1);
    expect((await store.getEvents(tenant, a.state.id)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it("lists a tenant's sagas newest first with filters and a cursor that pages without gaps", async () => {
    const tenant = uniqueTenant();
    const made: string[] = [];
    // Every saga gets the same created_at: the order among them is the ids' creation order,
    // which uuidv7 keeps within a process (the tie-break the listing documents).
    const now = await store.now();
    for (let i = 0; i < 7; i++) {
      const started: SagaEvent = {
        type: "SagaStarted",
        at: now,
        sagaId: uuidv7(),
        tenantId: tenant,
        name: i % 2 ? "odd" : "even",
        version: 1,
        input: null,
        idempotencyKey: null,
        deadlineAt: null,
        attributes: { orderId: `o-${i % 3}` },
      };
      await store.create([
        {
          state: applyEvent(null, started),
          events: [started],
          leaseOwner: null,
          leaseMs: 0,
          wakeAt: null,
        },
      ]);
      made.push(started.sagaId);
    }
    await newSaga(uniqueTenant()); // another tenant's saga is never listed
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await store.listSagas({
        tenantId: tenant,
        limit: 3,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...result.items.map((s) => s.id));
      if (!result.next) break;
      cursor = result.next;
    }
    expect(seen).toEqual([...made].reverse());
    const odd = await store.listSagas({ tenantId: tenant, limit: 50, names: ["odd"] });
    expect(odd.items.map((s) => s.id).sort()).toEqual(made.filter((_, i) => i % 2).sort());
    const byKey = await store.listSagas({
      tenantId: tenant,
      limit: 50,
      attributes: { orderId: "o-1" },
    });
    expect(byKey.items.map((s) => s.id).sort()).toEqual([made[1], made[4]].sort());
    expect(byKey.items[0]?.attributes).toEqual({ orderId: "o-1" });
    const running = await store.listSagas({ tenantId: tenant, limit: 50, statuses: ["completed"] });
    expect(running.items).toEqual([]);
    // One value is written as `=`, several as `= ANY` (list-sagas.ts): both filter alike.
    const ids = async (q: Partial<Parameters<typeof store.listSagas>[0]>) =>
      (await store.listSagas({ tenantId: tenant, limit: 50, ...q })).items.map((s) => s.id).sort();
    expect(await ids({ names: ["odd", "nope"] })).toEqual(made.filter((_, i) => i % 2).sort());
    expect(await ids({ names: ["odd", "even"], statuses: ["running", "failed"] })).toEqual(
      [...made].sort(),
    );
    expect(await ids({ names: ["even"], statuses: ["running"] })).toEqual(
      made.filter((_, i) => i % 2 === 0).sort(),
    );
    expect(await ids({ statuses: ["failed", "completed"] })).toEqual([]);
    expect(await ids({ updatedBefore: new Date(Date.now() + 3_600_000).toISOString() })).toEqual(
      [...made].sort(),
    );
    expect(await ids({ updatedBefore: new Date(Date.now() - 3_600_000).toISOString() })).toEqual(
      [],
    );
    const future = await store.listSagas({
      tenantId: tenant,
      limit: 50,
      createdAfter: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(future.items).toEqual([]);
    await expect(
      store.listSagas({ tenantId: tenant, limit: 5, cursor: "bogus" }),
    ).rejects.toMatchObject({ code: ErrorCodes.SAGA_INVALID_INPUT });
    const active = await store.countActive();
    expect(active.find((a) => a.name === "odd")?.count).toBeGreaterThanOrEqual(3);
  });
});
