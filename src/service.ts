import type { FastifyInstance } from "fastify";
import { buildServer } from "./api/server.js";
import type { ServiceConfig } from "./config/config.js";
import { createOrchestrator } from "./create-orchestrator.js";
import { demoOrderSaga, type SagaDefaults } from "./definitions/demo-order.js";
import type { SagaDefinition } from "./engine/definition.js";
import type { Orchestrator } from "./engine/orchestrator.js";
import type { Store } from "./engine/store-port.js";
import { SagaMetrics } from "./telemetry/metrics.js";
import { createLogger } from "./telemetry/logger.js";

export interface Service {
  app: FastifyInstance;
  orchestrator: Orchestrator;
  /** Stops taking requests, lets running steps finish (grace), releases leases, closes the store. */
  close(): Promise<void>;
}

export const VERSION = "0.1.0";

export function sagaDefaults(config: ServiceConfig): SagaDefaults {
  return {
    ...(config.sagaTimeoutSeconds ? { timeoutMs: config.sagaTimeoutSeconds * 1000 } : {}),
    ...(config.sagaStepTimeoutSeconds
      ? { stepTimeoutMs: config.sagaStepTimeoutSeconds * 1000 }
      : {}),
    retry: { maxAttempts: config.sagaRetryAttempts },
  };
}

/** The service's composition root: store from config, orchestrator, metrics, HTTP server. */
export async function createService(
  config: ServiceConfig,
  options: {
    sagas?: readonly SagaDefinition<never, never>[];
    logger?: boolean;
    /** A store of your own instead of the one the config names (tests; left open on close). */
    store?: Store;
  } = {},
): Promise<Service> {
  const logger = createLogger(options.logger === false ? "silent" : config.logLevel);
  const sagas = options.sagas ?? [demoOrderSaga(sagaDefaults(config))];
  const orchestrator = await createOrchestrator({
    sagas,
    ...(options.store
      ? { store: options.store }
      : config.databaseUrl
        ? { databaseUrl: config.databaseUrl }
        : { dataDir: config.dataDir }),
    leaseMs: config.leaseSeconds * 1000,
    maxConcurrentSagas: config.workerConcurrency,
    logger,
  });
  const metrics = new SagaMetrics(() => orchestrator.countActive());
  orchestrator.onCommitted(metrics.listener);
  const app = await buildServer({
    orchestrator,
    config,
    metrics,
    health: { storeKind: config.databaseUrl ? "postgres" : "pglite", version: VERSION },
    logger,
  });
  let closed: Promise<void> | null = null;
  return {
    app,
    orchestrator,
    close: () =>
      (closed ??= (async () => {
        await app.close();
        await orchestrator.close({ graceMs: config.shutdownGraceSeconds * 1000 });
      })()),
  };
}
