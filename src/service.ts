import type { FastifyInstance } from "fastify";
import { buildServer } from "./api/server.js";
import type { ServiceConfig } from "./config/config.js";
import { createOrchestrator } from "./create-orchestrator.js";
import { demoOrderSaga } from "./definitions/demo-order.js";
import { sagaDefaults, setupDefinitions, type ServiceDefinitions } from "./service-definitions.js";
import type { SagaDefinition } from "./engine/definition.js";
import type { Orchestrator } from "./engine/orchestrator.js";
import type { Store } from "./engine/store-port.js";
import type { EventBus } from "./engine/bus-port.js";
import { startServiceEvents, type ServiceEvents } from "./service-events.js";
import { openStore } from "./store/open-store.js";
import { PostgresStore } from "./store/postgres-store.js";
import { SagaMetrics } from "./telemetry/metrics.js";
import { StoreMetrics } from "./telemetry/store-metrics.js";
import { sqlClientOf } from "./store/sql-client-of.js";
import { sqlStoreReadings } from "./store/sql-observe.js";
import { SqlAuditLog } from "./store/sql-audit.js";
import { startRetention } from "./service-retention.js";
import { createLogger } from "./telemetry/logger.js";
import type { Tracing } from "./telemetry/tracing.js";

export interface Service {
  app: FastifyInstance;
  orchestrator: Orchestrator;
  /** The bus, the outbox relay and the event store. */
  events: ServiceEvents;
  /** Stops taking requests, lets running steps finish (grace), releases leases, closes the store. */
  close(): Promise<void>;
}

export const VERSION = "0.1.0";

export interface ServiceOptions {
  sagas?: readonly SagaDefinition<never, never>[];
  /** false: silent; a pino logger of your own (tests capturing logs); default: stdout. */
  logger?: boolean | ReturnType<typeof createLogger>;
  /** A store of your own instead of the one the config names (tests; left open on close). */
  store?: Store;
  /** A bus of your own instead of the one the config names (tests; left open on close). */
  bus?: EventBus;
  /** The folder of built-in definitions (default: the package's definitions/; null: none). */
  builtinDefinitions?: string | null;
  /** Tracing of your own (tests: an in-memory exporter; left running on close). */
  tracing?: Tracing;
  /**
   * false: this process runs no saga step. Starts are written as due work and worker processes
   * (`saga worker`, sharing the PostgreSQL) claim them; results and streams are read from the
   * store. Exception: an operator's cancel, retry or compensate of a saga no worker holds runs that
   * saga here (the command claims it to write its event). Default true.
   */
  execute?: boolean;
}

export { sagaDefaults };

/** The service's composition root: store from config, orchestrator, metrics, HTTP server. */
export async function createService(
  config: ServiceConfig,
  options: ServiceOptions = {},
): Promise<Service> {
  // Before anything runs: http steps and outbox rows carry trace context only once it is set up.
  // The SDK is loaded only when tracing is on.
  const ownTracing =
    !options.tracing && config.tracing.enabled
      ? (await import("./telemetry/tracing.js")).startTracing({
          serviceName: config.tracing.serviceName,
          serviceVersion: VERSION,
          tracesUrl: config.tracing.tracesUrl,
        })
      : null;
  try {
    return await assembleService(
      config,
      options,
      ownTracing ?? options.tracing ?? null,
      ownTracing,
    );
  } catch (error) {
    await ownTracing?.shutdown().catch(() => undefined);
    throw error;
  }
}

async function assembleService(
  config: ServiceConfig,
  options: ServiceOptions,
  tracing: Tracing | null,
  ownTracing: Tracing | null,
): Promise<Service> {
  const logger =
    typeof options.logger === "object"
      ? options.logger
      : createLogger(options.logger === false ? "silent" : config.logLevel);
  const sagas = options.sagas ?? [demoOrderSaga(sagaDefaults(config))];
  const store =
    options.store ??
    (await openStore({
      databaseUrl: config.databaseUrl,
      poolSize: config.databasePoolSize,
      dataDir: config.dataDir,
    }));
  const metrics = new SagaMetrics(() => store.countActive(), {
    maxLabelValues: config.limits.metricLabelValues,
  });
  const sql = sqlClientOf(store);
  const storeMetrics = new StoreMetrics(metrics.registry, {
    ...(store instanceof PostgresStore ? { pool: () => store.poolStats() } : {}),
    ...(sql ? { waiting: sqlStoreReadings(sql).countWaiting } : {}),
  });
  const orchestrator = await createOrchestrator({
    sagas,
    store: storeMetrics.instrument(store),
    closeStore: !options.store,
    outbox: true,
    leaseMs: config.leaseSeconds * 1000,
    ...(options.execute === false
      ? { worker: false, maxConcurrentSagas: 0 }
      : { maxConcurrentSagas: config.workerConcurrency }),
    maxStepResultBytes: config.maxStepResultBytes,
    logger,
  }).catch(async (error: unknown) => {
    if (!options.store) await store.close().catch(() => undefined);
    throw error;
  });
  if (tracing) orchestrator.onCommitted(tracing.listener);
  // Definitions first: the intake may take events (pending ones, after a restart) at once, and a
  // trigger of a definition not yet loaded would miss them.
  const definitions: ServiceDefinitions = await setupDefinitions({
    config,
    store,
    orchestrator,
    logger,
    ...(options.builtinDefinitions !== undefined ? { builtinDir: options.builtinDefinitions } : {}),
  }).catch(async (error: unknown) => {
    await orchestrator.close({ graceMs: 0 });
    throw error;
  });
  const events = await startServiceEvents({
    config,
    store,
    orchestrator,
    logger,
    registry: metrics.registry,
    ...(options.bus ? { bus: options.bus } : {}),
  }).catch(async (error: unknown) => {
    definitions.stop();
    await orchestrator.close({ graceMs: 0 });
    throw error;
  });
  orchestrator.onCommitted(metrics.listener);
  const audit = sql ? new SqlAuditLog(sql) : null;
  const retention =
    sql && config.retentionDays !== null
      ? startRetention({ sql, days: config.retentionDays, registry: metrics.registry, logger })
      : null;
  const app = await buildServer({
    orchestrator,
    config,
    metrics,
    health: {
      storeKind: config.databaseUrl ? "postgres" : "pglite",
      version: VERSION,
      components: () => events.components(),
    },
    ...(events.events ? { events: events.events } : {}),
    ...(events.deadLetters ? { deadLetters: events.deadLetters } : {}),
    ...(audit ? { audit } : {}),
    definitions: definitions.catalog,
    ...(definitions.secrets ? { secrets: definitions.secrets } : {}),
    ...(tracing ? { tracer: tracing.tracer } : {}),
    logger,
  });
  let closed: Promise<void> | null = null;
  return {
    app,
    orchestrator,
    events,
    close: () =>
      (closed ??= (async () => {
        definitions.stop();
        retention?.stop();
        await events.stop(); // no event taken in (no saga triggered) once closing started
        // Drain first: no step starts after the signal, even while open streams are being ended.
        orchestrator.beginDrain();
        await app.close();
        await orchestrator.close({ graceMs: config.shutdownGraceSeconds * 1000 });
        await events.closeBus();
        await ownTracing?.shutdown(); // exports the last spans
      })()),
  };
}
