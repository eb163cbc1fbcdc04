import { afterAll, afterEach, beforeAll } from "vitest";
import type { SagaDefinition } from "../../src/engine/definition.js";
import type { Logger } from "../../src/engine/logger.js";
import { Orchestrator, type OrchestratorOptions } from "../../src/engine/orchestrator.js";
import type { Commit, CreateResult, NewSaga, Store } from "../../src/engine/store-port.js";
import { type StoreKind, uniqueTenant } from "./stores.js";

/** A store shared by a test file, which counts the writes made through it. */
export interface CountingStore extends Store {
  writes: { creates: number; commits: number; sagasWritten: Map<string, number> };
}

function counting(store: Store): CountingStore {
  const writes = { creates: 0, commits: 0, sagasWritten: new Map<string, number>() };
  const bump = (id: string) => writes.sagasWritten.set(id, (writes.sagasWritten.get(id) ?? 0) + 1);
  return Object.assign(Object.create(store) as Store, {
    writes,
    create: async (batch: readonly NewSaga[]): Promise<CreateResult[]> => {
      writes.creates++;
      batch.forEach((s) => bump(s.state.id));
      return store.create(batch);
    },
    commit: async (batch: readonly Commit[]) => {
      writes.commits++;
      batch.forEach((c) => bump(c.lease.sagaId));
      return store.commit(batch);
    },
  });
}

/** Opens the kind's store once for the file and gives each test its own tenant and orchestrators. */
export function engineHarness(kind: StoreKind) {
  let store: CountingStore;
  const open: Orchestrator[] = [];
  beforeAll(async () => {
    store = counting(await kind.open());
    await store.migrate();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((o) => o.close({ graceMs: 0 })));
  });
  afterAll(async () => {
    await store.close();
  });
  return {
    get store(): CountingStore {
      return store;
    },
    async orchestrator(
      sagas: readonly SagaDefinition<never>[],
      options: Partial<OrchestratorOptions> = {},
    ): Promise<Orchestrator> {
      const orchestrator = await Orchestrator.create({
        store,
        sagas,
        closeStore: false,
        tenantId: uniqueTenant(),
        pollIntervalMs: 50,
        heartbeatMs: 100,
        leaseMs: 5_000,
        ...options,
      });
      open.push(orchestrator);
      return orchestrator;
    },
  };
}

export function memoryLogger(): Logger & {
  lines: { level: string; fields: object; message: string }[];
} {
  const lines: { level: string; fields: object; message: string }[] = [];
  const at = (level: string) => (fields: object, message: string) =>
    lines.push({ level, fields, message });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Resolves when the signal aborts (a step that waits to be cancelled). */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(new Error("aborted"));
    signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
  });
}
