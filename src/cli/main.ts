#!/usr/bin/env node
import { readFile, readdir, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { buildWorkerProbeServer } from "../api/worker-probes.js";
import { describeBackends } from "../config/backends.js";
import { loadConfig, ConfigError } from "../config/config.js";
import { EnvFileError, readServiceEnv } from "../config/env-file.js";
import { translateSeedEnv } from "../config/seed-env.js";
import { createOrchestrator } from "../create-orchestrator.js";
import { demoOrderSaga } from "../definitions/demo-order.js";
import type { SagaDefinition } from "../engine/definition.js";
import { createService, VERSION } from "../service.js";
import { sagaDefaults, setupDefinitions } from "../service-definitions.js";
import { startServiceEvents } from "../service-events.js";
import { openStore } from "../store/open-store.js";
import { createLogger } from "../telemetry/logger.js";
import { SagaMetrics } from "../telemetry/metrics.js";
import { CliError, request, type ClientOptions } from "./client.js";
import { secretsCommand } from "./secrets.js";
import { auditCommand } from "./audit.js";
import { deadLetterCommand } from "./dead-letters.js";
import { sagaLine, timeline, type EventView, type SagaView, type StepView } from "./format.js";
import { errorMessage } from "../core/errors.js";
import { untilSignal } from "./until-signal.js";
import { WorkerChildren } from "./worker-children.js";

const USAGE = `usage: saga <command> [options]

Service (configured by environment variables and ./.env, see .env.example):
  serve                          run the HTTP API and a worker (PORT, default 8008)
  serve --workers N              run the HTTP API (executing no step) and N worker processes
                                 (1-64; needs DATABASE_URL), their probes on WORKER_PORT+0..N-1
  worker [--port N] [--worker-id ID]
                                 run a worker (scale-out on a shared PostgreSQL); probes and
                                 /metrics on WORKER_PORT (default 8009)
  migrate                        apply database migrations and exit

Client (talks to a running service):
  start <type> [--input JSON] [--idempotency-key KEY] [--version N]
  list [--status S] [--type T] [--limit N] [--cursor C] [--attr name=value]…
  show <id>                      steps, compensations and a timeline of events
  cancel <id>
  retry <id>
  definitions apply <file|dir>…  register JSON/YAML saga definitions (admin key)
  definitions list
  secrets set <name> [--from-file F]   write a tenant secret (value from stdin or F; admin key)
  secrets delete <name> | secrets list  (values are never shown)
  dead-letters list [--after ID] [--limit N]   bus messages given up on (admin key)
  dead-letters show <id> | redrive <id>… | purge <id>… | purge --all
  audit [--actor A] [--action X] [--saga ID] [--since ISO] [--until ISO] [--limit N] [--cursor C]
                                 who did what, newest first (admin key)

Client options:
  --url URL        service URL (default $SAGA_URL or http://127.0.0.1:8008)
  --api-key KEY    sent as X-API-Key (default $API_KEY)
  --json           print the raw JSON answer
  -h, --help`;

const options = {
  url: { type: "string" },
  "api-key": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
  input: { type: "string" },
  "idempotency-key": { type: "string" },
  version: { type: "string" },
  status: { type: "string" },
  type: { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  attr: { type: "string", multiple: true },
  "from-file": { type: "string" },
  port: { type: "string" },
  workers: { type: "string" },
  "worker-id": { type: "string" },
  after: { type: "string" },
  all: { type: "boolean", default: false },
  actor: { type: "string" },
  action: { type: "string" },
  saga: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
} as const;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const first = errorMessage(error).split(/\n|\. /)[0] ?? "bad arguments";
    throw new CliError(
      `${first.charAt(0).toLowerCase()}${first.slice(1)} (saga --help for usage)`,
      2,
    );
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === "help") {
    const usageError = command === undefined && !values.help;
    (usageError ? process.stderr : process.stdout).write(USAGE + "\n");
    return usageError ? 2 : 0;
  }
  const client: ClientOptions = {
    url: values.url ?? process.env.SAGA_URL ?? "http://127.0.0.1:8008",
    apiKey: values["api-key"] ?? process.env.API_KEY,
  };
  const print = (json: unknown, human: () => string) =>
    process.stdout.write((values.json ? JSON.stringify(json, null, 2) : human()) + "\n");
  const one = (what: string) => {
    if (rest.length !== 1)
      throw new CliError(`${command} needs exactly one ${what} (saga --help for usage)`, 2);
    return encodeURIComponent(rest[0]!);
  };

  if (values.port !== undefined && command !== "worker")
    throw new CliError("--port is an option of saga worker (saga serve listens on PORT)", 2);
  if (values["worker-id"] !== undefined && command !== "worker")
    throw new CliError("--worker-id is an option of saga worker", 2);
  if (values.workers !== undefined && command !== "serve")
    throw new CliError("--workers is an option of saga serve", 2);
  switch (command) {
    case "serve":
      return values.workers === undefined ? serve() : serveWithWorkers(values.workers);
    case "worker":
      return worker(values.port, values["worker-id"]);
    case "migrate":
      return migrateOnly();
    case "start": {
      const type = rest[0];
      if (!type || rest.length > 1)
        throw new CliError("start needs exactly one saga type (saga --help for usage)", 2);
      let input: unknown = null;
      if (values.input !== undefined) {
        try {
          input = JSON.parse(values.input);
        } catch {
          throw new CliError('--input must be JSON, e.g. --input \'{"order_id":"o-1"}\'', 2);
        }
      }
      const version = values.version === undefined ? undefined : Number(values.version);
      if (version !== undefined && (!Number.isInteger(version) || version < 1))
        throw new CliError("--version must be a positive integer", 2);
      const saga = await request<SagaView>(client, "POST", "sagas/start", {
        saga_type: type,
        input,
        ...(values["idempotency-key"] ? { idempotency_key: values["idempotency-key"] } : {}),
        ...(version ? { version } : {}),
      });
      print(
        saga,
        () =>
          `started ${sagaLine(saga)}\nwatch it: curl -N ${client.url}/sagas/${saga.saga_id}/stream`,
      );
      return 0;
    }
    case "list": {
      if (rest.length > 0) throw new CliError("list takes no positional arguments", 2);
      const query = new URLSearchParams();
      if (values.status) query.set("status", values.status);
      if (values.type) query.set("saga_type", values.type);
      if (values.limit) query.set("limit", values.limit);
      if (values.cursor) query.set("cursor", values.cursor);
      for (const pair of values.attr ?? []) {
        const eq = pair.indexOf("=");
        if (eq < 1)
          throw new CliError(`--attr must be name=value (got ${JSON.stringify(pair)})`, 2);
        query.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      const page = await request<{ items: SagaView[]; next_cursor: string | null }>(
        client,
        "GET",
        `sagas/?${query.toString()}`,
      );
      print(page, () =>
        [
          ...page.items.map(sagaLine),
          page.items.length === 0 ? "no sagas" : "",
          page.next_cursor ? `more: saga list --cursor ${page.next_cursor}` : "",
        ]
          .filter(Boolean)
          .join("\n"),
      );
      return 0;
    }
    case "show": {
      const id = one("saga id");
      const [saga, steps, events] = await Promise.all([
        request<SagaView>(client, "GET", `sagas/${id}`),
        request<{ steps: StepView[] }>(client, "GET", `sagas/${id}/steps`),
        request<{ events: EventView[] }>(client, "GET", `sagas/${id}/events`),
      ]);
      print({ saga, steps: steps.steps, events: events.events }, () =>
        timeline(saga, steps.steps, events.events),
      );
      return 0;
    }
    case "definitions":
      return definitions(client, rest, print);
    case "secrets":
      return secretsCommand(client, rest, values["from-file"], print);
    case "audit":
      return auditCommand(
        client,
        rest,
        {
          ...(values.actor ? { actor: values.actor } : {}),
          ...(values.action ? { action: values.action } : {}),
          ...(values.saga ? { saga: values.saga } : {}),
          ...(values.since ? { since: values.since } : {}),
          ...(values.until ? { until: values.until } : {}),
          ...(values.limit ? { limit: values.limit } : {}),
          ...(values.cursor ? { cursor: values.cursor } : {}),
        },
        print,
      );
    case "dead-letters":
      return deadLetterCommand(
        client,
        rest,
        {
          all: values.all,
          ...(values.limit ? { limit: values.limit } : {}),
          ...(values.after ? { after: values.after } : {}),
        },
        print,
      );
    case "cancel":
    case "retry": {
      const saga = await request<SagaView>(client, "POST", `sagas/${one("saga id")}/${command}`);
      print(saga, () => `${command === "cancel" ? "cancelling" : "retrying"} ${sagaLine(saga)}`);
      return 0;
    }
    default:
      throw new CliError(`unknown command ${JSON.stringify(command)} (saga --help for usage)`, 2);
  }
}

async function definitions(
  client: ClientOptions,
  args: string[],
  print: (json: unknown, human: () => string) => void,
): Promise<number> {
  const [sub, ...paths] = args;
  if (sub === "list" && paths.length === 0) {
    const body = await request<{ definitions: { name: string; version: number; scope: string }[] }>(
      client,
      "GET",
      "definitions",
    );
    print(
      body,
      () =>
        body.definitions.map((d) => `${d.name} v${d.version} (${d.scope})`).join("\n") ||
        "no definitions",
    );
    return 0;
  }
  if (sub !== "apply" || paths.length === 0)
    throw new CliError("use: saga definitions apply <file|dir>… or saga definitions list", 2);
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (!info) throw new CliError(`${path}: no such file or folder`, 2);
    if (info.isDirectory()) {
      files.push(
        ...(await readdir(path))
          .filter((f) => /\.(json|ya?ml)$/i.test(f))
          .sort()
          .map((f) => join(path, f)),
      );
    } else files.push(path);
  }
  let failed = 0;
  for (const file of files) {
    let doc: unknown;
    try {
      const text = await readFile(file, "utf8");
      doc = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
    } catch (error) {
      throw new CliError(
        `${file}: cannot be read as ${/\.json$/i.test(file) ? "JSON" : "YAML"}: ${errorMessage(error).split("\n")[0]}`,
        2,
      );
    }
    try {
      const result = await request<{ name: string; version: number }>(
        client,
        "POST",
        "definitions",
        doc,
      );
      print(result, () => `${file}: ${result.name} v${result.version} registered`);
    } catch (error) {
      failed++;
      process.stderr.write(`saga: ${file}: ${errorMessage(error)}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

function serviceSagas(config: ReturnType<typeof loadConfig>): SagaDefinition<never, never>[] {
  return [demoOrderSaga(sagaDefaults(config))];
}

/** The configuration from the environment and ./.env; seed variable names are translated. */
function serviceConfig(): {
  config: ReturnType<typeof loadConfig>;
  startupNotes: (log: (message: string) => void) => void;
} {
  const { env, envFile } = readServiceEnv(process.env);
  const config = loadConfig(env);
  return {
    config,
    startupNotes: (log) => {
      if (envFile) log(`configuration: read ${envFile} (the environment wins over it)`);
      for (const note of translateSeedEnv(env).notes) log(`configuration: ${note}`);
      const { store, bus } = describeBackends(config);
      log(`store: ${store}`);
      log(`bus: ${bus}`);
    },
  };
}

async function serve(): Promise<number> {
  const { config, startupNotes } = serviceConfig();
  const service = await createService(config, { sagas: serviceSagas(config) });
  startupNotes((message) => service.app.log.info(message));
  const address = await service.app.listen({ port: config.port, host: config.host });
  service.app.log.info(
    {
      address,
      store: config.databaseUrl ? "postgres" : `pglite ${config.dataDir}`,
      bus: config.redisUrl ? "redis" : "in-process",
      docs: `${address}/docs`,
      console: `${address}/ui/`,
    },
    `saga-orchestrator listening on ${address} (console: ${address}/ui/, API docs: ${address}/docs)`,
  );
  return untilSignal(() => service.close());
}

/** The worker's probe port: --port, else WORKER_PORT, else 8009. */
function probePortOf(portOption: string | undefined): number {
  const rawPort = portOption ?? process.env.WORKER_PORT ?? "8009";
  const probePort = Number(rawPort);
  if (!/^\d{1,5}$/.test(rawPort.trim()) || probePort > 65535) {
    throw new CliError(
      `${portOption === undefined ? "WORKER_PORT" : "--port"} must be a port number from 0 to 65535 (got ${JSON.stringify(rawPort)})`,
      2,
    );
  }
  return probePort;
}

/**
 * `saga serve --workers N`: this process serves the HTTP API and writes starts as due work; N
 * child processes (`saga worker`) claim and run them over the shared PostgreSQL.
 */
async function serveWithWorkers(rawCount: string): Promise<number> {
  const count = Number(rawCount);
  if (!/^\d+$/.test(rawCount.trim()) || count < 1 || count > 64)
    throw new CliError(
      `--workers must be an integer from 1 to 64 (got ${JSON.stringify(rawCount)})`,
      2,
    );
  const { config, startupNotes } = serviceConfig();
  if (!config.databaseUrl)
    throw new CliError(
      "saga serve --workers needs DATABASE_URL: worker processes share a PostgreSQL (embedded PGlite belongs to one process)",
      2,
    );
  const basePort = probePortOf(undefined);
  if (basePort !== 0 && basePort + count - 1 > 65535)
    throw new CliError(`WORKER_PORT ${basePort} leaves no room for ${count} probe ports`, 2);
  // Migrations and built-in definitions are in place before the first child opens the store.
  const service = await createService(config, { sagas: serviceSagas(config), execute: false });
  startupNotes((message) => service.app.log.info(message));
  const children = new WorkerChildren({
    count,
    // WORKER_PORT=0: each child takes a free port (its log line names it).
    args: (index, incarnation) => [
      "worker",
      "--port",
      String(basePort === 0 ? 0 : basePort + index),
      "--worker-id",
      `${hostname()}:${process.pid}:w${index}.${incarnation}`,
    ],
    env: process.env,
    logger: service.app.log,
  });
  children.start();
  const address = await service.app.listen({ port: config.port, host: config.host });
  service.app.log.info(
    { address, workers: count, store: "postgres", bus: config.redisUrl ? "redis" : "in-process" },
    `saga-orchestrator listening on ${address} with ${count} worker process(es) running the sagas`,
  );
  return untilSignal(async () => {
    await Promise.all([children.stop(), service.close()]);
  });
}

async function worker(
  portOption: string | undefined,
  workerId: string | undefined,
): Promise<number> {
  const { config, startupNotes } = serviceConfig();
  const probePort = probePortOf(portOption);
  if (workerId !== undefined && !/^[\w.:@/-]{1,200}$/.test(workerId))
    throw new CliError(
      "--worker-id must be 1 to 200 letters, digits or the characters . : @ / _ -",
      2,
    );
  if (!config.databaseUrl) {
    throw new CliError(
      "saga worker needs DATABASE_URL: workers share a PostgreSQL (embedded PGlite belongs to one process)",
      2,
    );
  }
  const logger = createLogger(config.logLevel);
  const store = await openStore({
    databaseUrl: config.databaseUrl,
    poolSize: config.databasePoolSize,
  });
  startupNotes((message) => logger.info(message));
  const tracing = config.tracing.enabled // the SDK is loaded only when tracing is on
    ? (await import("../telemetry/tracing.js")).startTracing({
        serviceName: config.tracing.serviceName,
        serviceVersion: VERSION,
        tracesUrl: config.tracing.tracesUrl,
      })
    : null;
  const orchestrator = await createOrchestrator({
    sagas: serviceSagas(config),
    store,
    closeStore: true,
    outbox: true,
    ...(workerId !== undefined ? { workerId } : {}),
    leaseMs: config.leaseSeconds * 1000,
    maxConcurrentSagas: config.workerConcurrency,
    maxStepResultBytes: config.maxStepResultBytes,
    logger,
  });
  // The same sagas as the service: built-in, SAGA_DEFINITIONS_DIR, and those registered as data.
  const definitions = await setupDefinitions({ config, store, orchestrator, logger });
  // With Redis, a worker also relays the outbox and takes events in (triggers, waits); without
  // it there is no shared bus, and relaying to a bus only this process sees would lose events.
  const events = config.redisUrl
    ? await startServiceEvents({ config, store, orchestrator, logger })
    : null;
  const metrics = new SagaMetrics(() => orchestrator.countActive());
  orchestrator.onCommitted(metrics.listener);
  if (tracing) orchestrator.onCommitted(tracing.listener);
  const probes = await buildWorkerProbeServer({
    orchestrator,
    metrics,
    metricsToken: config.metricsToken,
    health: {
      storeKind: "postgres",
      version: VERSION,
      ...(events ? { components: () => events.components() } : {}),
    },
  });
  const probeAddress = await probes.listen({ port: probePort, host: config.host });
  logger.info(
    {
      workerId: orchestrator.workerId,
      bus: config.redisUrl ? "redis" : "none",
      probes: probeAddress,
    },
    `saga worker running (probes and metrics on ${probeAddress})`,
  );
  return untilSignal(
    async () => {
      definitions.stop();
      await events?.stop();
      // Readiness answers 503 from here on; the probe server closes once the sagas have drained.
      orchestrator.beginDrain();
      await orchestrator.close({ graceMs: config.shutdownGraceSeconds * 1000 });
      await events?.closeBus();
      await tracing?.shutdown();
      await probes.close();
      logger.info("saga worker drained and stopped");
    },
    { followParent: true },
  );
}

async function migrateOnly(): Promise<number> {
  const { config } = serviceConfig();
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  process.stdout.write(
    `migrated ${config.databaseUrl ? "PostgreSQL" : `PGlite in ${config.dataDir}`}\n`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof CliError) {
      process.stderr.write(`saga: ${error.message}\n`);
      process.exit(error.exitCode);
    }
    if (error instanceof ConfigError || error instanceof EnvFileError) {
      for (const line of error.message.split("\n"))
        process.stderr.write(`saga: invalid configuration: ${line}\n`);
      process.exit(2);
    }
    process.stderr.write(`saga: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);
