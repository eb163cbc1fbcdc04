import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCodes, SagaError } from "../../src/core/errors.js";
import { Orchestrator } from "../../src/engine/orchestrator.js";
import type { Store } from "../../src/engine/store-port.js";
import { defineSaga, PostgresStore, replay, TerminalError } from "../../src/index.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";
import { freshSchema, uniqueTenant } from "../helpers/stores.js";
import { sleep } from "../helpers/time.js";

// The real orchestrator on a store that misbehaves as a database under stress does: a write that
// fails, one that is slow, and one that commits but whose reply is lost. fast-check picks the
// saga's shape, how each attempt ends, and which store calls misbehave; the engine must still
// end every saga as the model says, compensate each completed step once in reverse order, and
// keep the stored state equal to the replay of its events.
type Fault = "ok" | "error" | "slow" | "lost-reply";

const schema = freshSchema();
let base: Store;
beforeAll(async () => {
  base = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
  await base.migrate();
});
afterAll(async () => {
  await base.close();
});

function faulty(store: Store, script: Fault[]): Store & { injected: Record<Fault, number> } {
  const injected: Record<Fault, number> = { ok: 0, error: 0, slow: 0, "lost-reply": 0 };
  let i = 0;
  const wrap =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const fault = script[i++] ?? "ok";
      injected[fault]++;
      if (fault === "error")
        throw new SagaError(ErrorCodes.SAGA_STORE_ERROR, "injected: connection reset", {
          retryable: true,
        });
      if (fault === "slow") await sleep(30);
      const result = await call(...args);
      if (fault === "lost-reply")
        throw new SagaError(ErrorCodes.SAGA_STORE_ERROR, "injected: committed, reply lost", {
          retryable: true,
        });
      return result;
    };
  return Object.assign(Object.create(store) as Store, {
    injected,
    create: wrap(store.create.bind(store)),
    commit: wrap(store.commit.bind(store)),
  });
}

const scenario = fc.record({
  steps: fc.integer({ min: 1, max: 4 }),
  failAt: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
  /** Per step, how many attempts fail (retryably) before one succeeds (budget 3). */
  flaky: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 4, maxLength: 4 }),
  faults: fc.array(fc.constantFrom<Fault>("ok", "ok", "error", "slow", "lost-reply"), {
    maxLength: 12,
  }),
});

describe("the real orchestrator on a fault-injecting store (property)", () => {
  it(
    "ends every saga as the model says, compensates once in reverse order, state == replay",
    { timeout: 300_000 },
    async () => {
      let runs = 0;
      const injected: Record<Fault, number> = { ok: 0, error: 0, slow: 0, "lost-reply": 0 };
      await fc.assert(
        fc.asyncProperty(scenario, async ({ steps, failAt, flaky, faults }) => {
          runs++;
          const effects: string[] = [];
          const attempts = new Map<string, number>();
          const names = Array.from({ length: steps }, (_, i) => `s${i}`);
          const saga = defineSaga({
            name: "faulty_store",
            retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 20, jitter: 0 },
            steps: names.map((name, i) => ({
              name,
              action: (ctx) => {
                const n = (attempts.get(ctx.idempotencyKey) ?? 0) + 1;
                attempts.set(ctx.idempotencyKey, n);
                if (failAt === i) throw new TerminalError(`${name} declined`);
                if (n <= flaky[i]!) throw new Error(`${name} flaky`);
                effects.push(ctx.idempotencyKey);
                return Promise.resolve(name);
              },
              compensate: (ctx) => {
                effects.push(ctx.idempotencyKey);
                return Promise.resolve();
              },
            })),
          });
          const store = faulty(base, faults);
          const orchestrator = await Orchestrator.create({
            store,
            sagas: [saga],
            closeStore: false,
            tenantId: uniqueTenant(),
            leaseMs: 1_000,
            heartbeatMs: 200,
            pollIntervalMs: 50,
            resultPollMs: 50,
          });
          try {
            // A start whose reply was lost is repeated with the same key, as a client would.
            let sagaId: string | null = null;
            for (let i = 0; i < 20 && sagaId === null; i++) {
              sagaId = await orchestrator
                .start("faulty_store", {}, { idempotencyKey: "k" })
                .then((h) => h.sagaId)
                .catch(() => null);
            }
            expect(sagaId).not.toBeNull();
            const result = await orchestrator.handle(sagaId!).result();
            const failing = failAt !== null && failAt < steps;
            expect(result.status).toBe(failing ? "compensated" : "completed");

            const events = await orchestrator.events(sagaId!);
            expect(replay(events)).toEqual(await orchestrator.get(sagaId!));
            const completed = events.flatMap((e) => (e.type === "StepCompleted" ? [e.step] : []));
            expect(new Set(completed).size).toBe(completed.length);
            const done = new Set(effects.filter((k) => !k.endsWith(":compensate")));
            expect([...done].sort()).toEqual(completed.map((s) => `${sagaId}:${s}`).sort());
            const undone = effects.filter((k) => k.endsWith(":compensate"));
            const firstUndo = [...new Set(undone)];
            if (failing) {
              expect(firstUndo).toEqual(
                [...completed].reverse().map((s) => `${sagaId}:${s}:compensate`),
              );
              const compensated = events.flatMap((e) =>
                e.type === "StepCompensated" ? [e.step] : [],
              );
              expect(compensated).toEqual([...completed].reverse());
            } else {
              expect(undone).toEqual([]);
            }
          } finally {
            await orchestrator.close({ graceMs: 0 });
            for (const k of Object.keys(injected) as Fault[]) injected[k] += store.injected[k];
          }
        }),
        { numRuns: 25 },
      );
      expect(runs).toBeGreaterThanOrEqual(25);
      // The faults did happen, every kind of them.
      expect(injected.error).toBeGreaterThan(0);
      expect(injected.slow).toBeGreaterThan(0);
      expect(injected["lost-reply"]).toBeGreaterThan(0);
    },
  );
});
