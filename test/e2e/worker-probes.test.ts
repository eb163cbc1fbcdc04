import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOrchestrator, type Orchestrator } from "../../src/index.js";
import { demoOrderSaga } from "../../src/definitions/demo-order.js";
import { createFreshDatabase } from "./support/database.js";
import {
  childEnv,
  freePort,
  killAllChildren,
  runCli,
  spawnSaga,
  type Spawned,
} from "./support/processes.js";
import { waitUntil } from "../helpers/time.js";

/**
 * A TCP relay between the worker and PostgreSQL, so the test can make the store unreachable for
 * the worker (and reachable again) without touching the shared server.
 */
class StoreRelay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
  }

  /** Refuses new connections and cuts the open ones. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

let database: { url: string; drop: () => Promise<void> };
let relay: StoreRelay;
let producer: Orchestrator | undefined;
let worker: Spawned;
let probes: string;

async function get(path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${probes}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, text: await response.text() };
}

/** Polls GET /health/ready until it answers `status`, and returns that answer. */
function readiness(
  what: string,
  status: 200 | 503,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<{ status: number; text: string }> {
  return waitUntil(
    what,
    async () => {
      const answer = await get("/health/ready");
      return answer.status === status && answer;
    },
    { intervalMs: 100, ...options, retryErrors: true },
  );
}

beforeAll(async () => {
  database = await createFreshDatabase();
  const target = new URL(database.url);
  relay = new StoreRelay(await freePort(), {
    host: target.hostname,
    port: Number(target.port || 5432),
  });
  await relay.up();
  const viaRelay = new URL(database.url);
  viaRelay.host = `127.0.0.1:${relay.port}`;
  // The producer starts sagas and runs none; it migrates the database before the worker starts.
  producer = await createOrchestrator({
    sagas: [demoOrderSaga()],
    databaseUrl: database.url,
    maxConcurrentSagas: 0,
  });
  const port = await freePort();
  probes = `http://127.0.0.1:${port}`;
  worker = spawnSaga(
    "saga worker",
    ["worker", "--port", String(port)],
    childEnv({
      DATABASE_URL: viaRelay.toString(),
      LOG_LEVEL: "info",
      HOST: "127.0.0.1",
      SAGA_SHUTDOWN_GRACE_SECONDS: "30",
    }),
  );
  await waitUntil(
    "the worker's readiness",
    async () => {
      if (!worker.alive) throw new Error(worker.describe("exited"));
      return (await get("/health/ready")).status === 200;
    },
    { timeoutMs: 120_000, intervalMs: 100, retryErrors: true },
  );
});

afterAll(async () => {
  await killAllChildren();
  await producer?.close({ graceMs: 0 });
  await relay?.down();
  await database?.drop();
});

describe("saga worker: probes, metrics, drain", () => {
  it("logs which store and which bus it uses", () => {
    expect(worker.stdout).toContain(`store: PostgreSQL at 127.0.0.1:${relay.port}/`);
    expect(worker.stdout).toContain("bus: in-process");
    expect(worker.stdout).not.toMatch(/password/i);
  });

  it("serves liveness, readiness and Prometheus metrics of the sagas it runs", async () => {
    expect(await get("/health/live")).toEqual({ status: 200, text: '{"status":"alive"}' });
    const saga = await producer!.start("demo_order", { order_id: "w-1", step_ms: 10 });
    const result = await saga.result();
    expect(result.status).toBe("completed");
    const metrics = await waitUntil(
      "the worker's count of the completed saga",
      async () => {
        const { text } = await get("/metrics");
        return /saga_completed_total\{saga_type="demo_order"\} 1\b/.test(text) && text;
      },
      { timeoutMs: 30_000, intervalMs: 100, retryErrors: true },
    );
    expect(metrics).toContain("# TYPE saga_started_total counter");
    expect(metrics).toContain("process_cpu_seconds_total");
    const missing = await get("/sagas/");
    expect(missing.status).toBe(404);
    expect(missing.text).toContain("NOT_FOUND");
  });

  it("is not ready while the store is unreachable, and ready again when it is back", async () => {
    await relay.down();
    const notReady = await readiness("readiness 503 with the store unreachable", 503, {
      timeoutMs: 60_000,
    });
    expect(notReady.text).toMatch(/"reason":"store: /);
    expect((await get("/health/live")).status).toBe(200);
    expect(worker.alive).toBe(true);
    await relay.up();
    await readiness("readiness 200 with the store back", 200, { timeoutMs: 60_000 });
  });

  it("drains on SIGTERM: not ready, the running step finishes, then a clean exit", async () => {
    const saga = await producer!.start("demo_order", { order_id: "w-2", step_ms: 8_000 });
    await waitUntil(
      "the worker starting the first step",
      async () => (await producer!.events(saga.sagaId)).some((e) => e.type === "StepStarted"),
      { timeoutMs: 60_000, intervalMs: 100, retryErrors: true },
    );
    worker.signal("SIGTERM");
    // The step takes 8 s: readiness must turn 503 well before it ends.
    const draining = await readiness("readiness 503 while draining", 503, {
      timeoutMs: 8_000,
      intervalMs: 50,
    });
    expect(draining.text).toContain("shutting down");
    const exit = await worker.waitForExit(60_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(worker.stderr).toContain("received SIGTERM");
    expect(worker.stdout).toContain("saga worker drained and stopped");
    const events = (await producer!.events(saga.sagaId)).map((e) => e.type);
    // The step in flight completed; nothing failed or compensated because of the shutdown.
    expect(events).toContain("StepCompleted");
    expect(events).not.toContain("StepFailed");
    expect(events).not.toContain("SagaCompensationStarted");
  });
});

describe("start-up refusals on the command line", () => {
  it("a bad worker port, or --port on serve, is one line and exit 2", async () => {
    const bad = await runCli(["worker", "--port", "eighty"], {
      env: { DATABASE_URL: database.url },
    });
    expect(bad.code).toBe(2);
    expect(bad.errorLines).toEqual([
      'saga: --port must be a port number from 0 to 65535 (got "eighty")',
    ]);
    const serve = await runCli(["serve", "--port", "9000"]);
    expect(serve.code).toBe(2);
    expect(serve.errorLines).toEqual([
      "saga: --port is an option of saga worker (saga serve listens on PORT)",
    ]);
  });

  it("refused seed variables stop start-up with one line each, naming what to use", async () => {
    const refused = await runCli(["serve"], {
      env: { SECRET_KEY: "django-secret", KAFKA_BOOTSTRAP_SERVERS: "kafka:9092" },
    });
    expect(refused.code).toBe(2);
    expect(refused.errorLines).toHaveLength(2);
    for (const line of refused.errorLines) expect(line).toMatch(/^saga: invalid configuration: /);
    expect(refused.stderr).toMatch(/SECRET_KEY is not supported: set JWT_SECRET/);
    expect(refused.stderr).toMatch(/KAFKA_BOOTSTRAP_SERVERS is not supported: .*REDIS_URL/);
  });
});
