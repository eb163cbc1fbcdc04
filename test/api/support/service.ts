import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { loadConfig } from "../../../src/config/config.js";
import { TerminalError } from "../../../src/core/errors.js";
import { demoOrderSaga } from "../../../src/definitions/demo-order.js";
import { defineSaga, type SagaDefinition } from "../../../src/engine/definition.js";
import { createService, type Service } from "../../../src/service.js";
import type { Store } from "../../../src/engine/store-port.js";
import { PgliteStore } from "../../../src/store/pglite-store.js";
import { PostgresStore } from "../../../src/store/postgres-store.js";
import { freshSchema } from "../../helpers/stores.js";
import { TEST_DATABASE_URL } from "../../helpers/services.js";

/** A saga that fails its only step for good and waits in `failed` (so that `retry` applies). */
export const stuckOrderSaga = defineSaga<{ order_id?: string }>({
  name: "stuck_order",
  onFailure: "pause",
  retry: { maxAttempts: 1 },
  steps: [
    {
      name: "book",
      action: () => {
        throw new TerminalError("booking service refuses (test saga)");
      },
    },
  ],
});

export const TEST_SAGAS = [demoOrderSaga(), stuckOrderSaga] as unknown as readonly SagaDefinition<
  never,
  never
>[];

/**
 * One service for the whole test file: created in beforeAll, closed and deleted in afterAll.
 * `env` is what `loadConfig` reads. The store: embedded PGlite in a temp dir (default, as `saga
 * serve` runs it), an in-memory PGlite, or real PostgreSQL in a fresh schema.
 */
export function useService(
  env: Record<string, string>,
  options: { store?: "pglite-dir" | "pglite-memory" | "postgres" } = {},
): { readonly service: Service } {
  let service: Service | undefined;
  let dataDir: string | undefined;
  let store: Store | undefined;
  const schema = options.store === "postgres" ? freshSchema() : null;
  beforeAll(async () => {
    if (schema !== null) store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    else if (options.store === "pglite-memory") store = await PgliteStore.open();
    dataDir = await mkdtemp(join(tmpdir(), "saga-api-test-"));
    const config = loadConfig({
      SAGA_SHUTDOWN_GRACE_SECONDS: "1",
      ...env,
      SAGA_DATA_DIR: dataDir,
    });
    service = await createService(config, {
      sagas: TEST_SAGAS,
      logger: false,
      builtinDefinitions: null,
      ...(store ? { store } : {}),
    });
    await service.app.ready();
    // PGlite's start-up (initdb in a child) is slow on a loaded machine: a generous bound.
  }, 240_000);
  afterAll(async () => {
    await service?.close();
    await store?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  return {
    get service(): Service {
      if (!service) throw new Error("the service is not started (used outside a test?)");
      return service;
    },
  };
}

/** A saga of `tenantId` in a known state, made through the engine (setup, not under test). */
export async function sagaIn(
  service: Service,
  tenantId: string,
  kind: "completed" | "running" | "failed",
): Promise<string> {
  const o = service.orchestrator;
  if (kind === "failed") {
    const handle = await o.start("stuck_order", {}, { tenantId });
    const result = await handle.result();
    if (result.status !== "failed") throw new Error(`setup: stuck_order ended ${result.status}`);
    return handle.sagaId;
  }
  const handle = await o.start(
    "demo_order",
    { step_ms: kind === "running" ? 10_000 : 0 },
    { tenantId },
  );
  if (kind === "completed") {
    const result = await handle.result();
    if (result.status !== "completed") throw new Error(`setup: demo_order ended ${result.status}`);
  }
  return handle.sagaId;
}
