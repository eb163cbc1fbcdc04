// Uses the library the way a user does: through the package's entry points (package.json
// `exports`), one thing from each. Each specifier is resolved by the exports map, then from the
// build output to its source file (dist/x.js is built from src/x.ts), so no build is needed and a
// wrong map fails here.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type * as BusEntry from "../../src/entry/bus.js";
import type * as DefinitionsEntry from "../../src/entry/definitions.js";
import type * as StoreEntry from "../../src/entry/store.js";
import type * as TestingEntry from "../../src/entry/testing.js";
import type * as MainEntry from "../../src/index.js";
import { waitUntil } from "../helpers/time.js";

// Types only (erased): the modules themselves are loaded through the exports map below.
type Main = typeof MainEntry;
type Bus = typeof BusEntry;
type Store = typeof StoreEntry;
type Definitions = typeof DefinitionsEntry;
type Testing = typeof TestingEntry;

const ROOT = join(import.meta.dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  exports: Record<string, { import: string }>;
};

/** `import(specifier)` as Node resolves a package's own name, pointed at the source. */
async function load<T>(specifier: string): Promise<T> {
  const subpath = specifier === pkg.name ? "." : `.${specifier.slice(pkg.name.length)}`;
  const target = pkg.exports[subpath]?.import;
  if (!target) throw new Error(`package.json exports nothing as ${subpath}`);
  const source = target.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts");
  return (await import(pathToFileURL(join(ROOT, source)).href)) as T;
}

describe("the package's entry points, as a user imports them", () => {
  let main: Main;
  let bus: Bus;
  let store: Store;
  let definitions: Definitions;
  let testing: Testing;
  beforeAll(async () => {
    [main, bus, store, definitions, testing] = await Promise.all([
      load<Main>("saga-orchestrator"),
      load<Bus>("saga-orchestrator/bus"),
      load<Store>("saga-orchestrator/store"),
      load<Definitions>("saga-orchestrator/definitions"),
      load<Testing>("saga-orchestrator/testing"),
    ]);
  });

  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  it("a saga declared as data, started by a bus event, calls the simulated service", async () => {
    // /testing: the downstream services the saga calls.
    const sim = await testing.startDownstreamSimulator();
    closers.push(() => sim.close());

    // /definitions: a JSON document compiled to an engine definition.
    const signup = definitions.compileDefinition(
      {
        name: "signup",
        version: 1,
        triggers: [
          {
            event: "user.registered",
            input: { user_id: "{{event.data.user_id}}", email: "{{event.data.email}}" },
          },
        ],
        steps: [
          {
            name: "create_user",
            request: {
              service: "user",
              method: "POST",
              path: "/users",
              body: { id: "{{input.user_id}}", email: "{{input.email}}" },
            },
            compensation: "none",
          },
        ],
      },
      {
        knownSaga: () => false,
        childrenOf: () => [],
        http: {
          serviceUrls: { user: sim.urls.user },
          secrets: () => undefined,
          transport: { guard: definitions.createSsrfGuard({ serviceUrls: [sim.urls.user] }) },
        },
      },
    );

    // /store and the main entry point: an orchestrator on embedded PGlite.
    const pglite = await store.PgliteStore.open();
    closers.push(() => pglite.close());
    const orchestrator = await main.createOrchestrator({
      sagas: [signup],
      store: pglite,
      outbox: true, // lifecycle events (saga.completed…) go to the bus
    });
    closers.push(() => orchestrator.close({ graceMs: 0 }));

    // /bus: in-process bus, outbox relay (store -> bus) and intake (bus -> triggers).
    const events = new bus.InProcessBus();
    closers.push(() => events.close());
    const seen: string[] = [];
    await events.subscribe({ group: "watcher", consumer: "test" }, (message) => {
      seen.push(message.type);
      return Promise.resolve();
    });
    const relay = new bus.OutboxRelay({ store: pglite, bus: events, idleMs: 20 });
    relay.start();
    closers.push(() => relay.stop());
    const intake = await bus.EventIntake.start({ bus: events, store: pglite, orchestrator });
    closers.push(() => intake.stop());

    await events.publish([
      {
        id: "evt-1",
        type: "user.registered",
        tenantId: orchestrator.tenantId,
        key: "u-1",
        data: { user_id: "u-1", email: "u-1@example.com" },
        occurredAt: Date.now(),
      },
    ]);
    const sagaId = await waitUntil(
      "the triggered saga",
      async () => {
        const page = await orchestrator.list({ names: ["signup"] });
        return page.items[0]?.id;
      },
      { timeoutMs: 20_000, intervalMs: 25 },
    );
    const result = await orchestrator.handle(sagaId).result();
    expect(result.status).toBe(main.SagaStatuses.completed);
    expect(sim.ledger({ service: "user" })).toMatchObject([
      { method: "POST", path: "/users", status: 201, idempotencyKey: `${sagaId}:create_user` },
    ]);
    await waitUntil("saga.completed on the bus", () => seen.includes("saga.completed"), {
      timeoutMs: 20_000,
      intervalMs: 25,
    });

    // /store: the event store in the same database.
    const eventStore = store.eventStoreOf(pglite);
    const appended = await eventStore.append(orchestrator.tenantId, "order-1", [
      { type: "order.placed", data: { total: 42 } },
    ]);
    expect(appended.streamVersion).toBe(1);
  });

  it("definitions: every problem of a document, at its JSON path", () => {
    const problems = definitions.definitionIssues(
      { name: "broken", version: 0, steps: [] },
      { knownSaga: () => false, childrenOf: () => [] },
    );
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.map((p) => p.path)).toContain("$.version");
  });

  it("store: eventStoreOf refuses a store without a SQL database, with a code", () => {
    const notSql = {} as Parameters<Store["eventStoreOf"]>[0];
    expect(() => store.eventStoreOf(notSql)).toThrow(
      expect.objectContaining({ code: main.ErrorCodes.SAGA_INVALID_STATE }) as Error,
    );
  });
});
