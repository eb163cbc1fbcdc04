import { mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOrchestrator } from "../../src/index.js";
import { demoOrderSaga } from "../../src/definitions/demo-order.js";
import { createFreshDatabase } from "./support/database.js";
import { killAllChildren, runCli } from "./support/processes.js";
import {
  api,
  startService,
  stopService,
  waitForEnd,
  type SagaJson,
  type ServiceProcess,
} from "./support/service.js";
import { waitUntil } from "../helpers/time.js";

/**
 * `saga serve --workers 2` as real processes: the API process runs no step, its two worker
 * children (`saga worker`) claim the sagas from the shared PostgreSQL and run them.
 */

const SLOW = { timeout: 180_000 };
const SAGAS = 20;

interface WorkerLine {
  workerId: string;
  probes: string;
}

/** Every JSON log line of the service's stdout (its own and its children's). */
function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The workers' "saga worker running" log lines (JSON, on the service's stdout). */
function workerLines(stdout: string): WorkerLine[] {
  const found: WorkerLine[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.includes('"saga worker running')) continue;
    const entry = JSON.parse(line) as { workerId: string; probes: string };
    found.push({ workerId: entry.workerId, probes: entry.probes });
  }
  return found;
}

/** The sum of `saga_completed_total` samples in a Prometheus text answer (0 when none). */
async function completedCount(baseUrl: string): Promise<number> {
  const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  let sum = 0;
  for (const line of (await response.text()).split("\n")) {
    const match = /^saga_completed_total\{[^}]*\} (\d+)$/.exec(line);
    if (match) sum += Number(match[1]);
  }
  return sum;
}

describe("saga serve --workers 2 on PostgreSQL", () => {
  let database: { url: string; drop: () => Promise<void> };
  let service: ServiceProcess | undefined;
  let workers: WorkerLine[];

  beforeAll(async () => {
    database = await createFreshDatabase();
    service = await startService(
      "serve --workers 2",
      {
        DATABASE_URL: database.url,
        LOG_LEVEL: "info",
        // Each child takes a free probe port; at most 3 sagas at once each, so neither can take all.
        WORKER_PORT: "0",
        SAGA_WORKER_CONCURRENCY: "3",
      },
      { args: ["serve", "--workers", "2"], timeoutMs: 150_000 },
    );
    const running = service;
    workers = await waitUntil(
      "both worker children ready",
      async () => {
        if (!running.process.alive) throw new Error(running.process.describe("exited"));
        const lines = workerLines(running.process.stdout);
        if (lines.length < 2) return undefined;
        for (const { probes } of lines) {
          const ready = await fetch(`${probes}/health/ready`, {
            signal: AbortSignal.timeout(5_000),
          });
          await ready.arrayBuffer();
          if (ready.status !== 200) return undefined;
        }
        return lines;
      },
      { timeoutMs: 150_000, intervalMs: 200, retryErrors: true },
    );
  }, 200_000);

  afterAll(async () => {
    await stopService(service);
    await killAllChildren();
    await database?.drop();
  }, 60_000);

  it(
    `${SAGAS} sagas started over HTTP all complete, run by both workers and not by the API process`,
    SLOW,
    async () => {
      expect(new Set(workers.map((w) => w.workerId)).size).toBe(2);
      const ids: string[] = [];
      for (let i = 0; i < SAGAS; i++) {
        const started = await api<SagaJson>(service!, "POST", "/sagas/start", {
          body: { saga_type: "demo_order", input: { order_id: `o-${i}`, step_ms: 100 } },
        });
        expect(started.status, JSON.stringify(started.body)).toBe(201);
        ids.push(started.body.saga_id);
      }
      const ended = await Promise.all(ids.map((id) => waitForEnd(service!, id, 120_000)));
      expect(ended.map((s) => s.status)).toEqual(ids.map(() => "completed"));

      const perWorker = await Promise.all(workers.map((w) => completedCount(w.probes)));
      expect(
        perWorker.every((n) => n > 0),
        `completed per worker: ${perWorker.join(", ")}`,
      ).toBe(true);
      // Each saga completed once, in one of the children; the API process completed none.
      expect(perWorker.reduce((a, b) => a + b, 0)).toBe(SAGAS);
      expect(await completedCount(service!.url)).toBe(0);
    },
  );

  it(
    "result() of a non-executing library orchestrator reads the end from the store",
    SLOW,
    async () => {
      const producer = await createOrchestrator({
        sagas: [demoOrderSaga()],
        databaseUrl: database.url,
        worker: false,
        maxConcurrentSagas: 0,
      });
      try {
        const handle = await producer.start("demo_order", { order_id: "via-library", step_ms: 50 });
        const result = await handle.result();
        expect(result.status).toBe("completed");
      } finally {
        await producer.close();
      }
    },
  );

  it(
    "a worker child killed with SIGKILL is restarted, and sagas still complete",
    SLOW,
    async () => {
      const running = service!;
      const started = logLines(running.process.stdout).find(
        (l) => l.msg === "worker process started" && l.worker === 0,
      );
      expect(started?.pid, running.process.describe("no start line of worker 0")).toBeTypeOf(
        "number",
      );
      process.kill(started!.pid as number, "SIGKILL");
      const replacement = await waitUntil(
        "worker 0's second incarnation ready",
        async () => {
          if (!running.process.alive) throw new Error(running.process.describe("exited"));
          const line = workerLines(running.process.stdout).find((w) => /:w0\.1$/.test(w.workerId));
          if (!line) return undefined;
          const ready = await fetch(`${line.probes}/health/ready`, {
            signal: AbortSignal.timeout(5_000),
          });
          await ready.arrayBuffer();
          return ready.status === 200 && line;
        },
        { timeoutMs: 150_000, intervalMs: 200, retryErrors: true },
      );
      const died = logLines(running.process.stdout).find(
        (l) => l.msg === "worker process died; restarting it",
      );
      expect(died).toMatchObject({ worker: 0, signal: "SIGKILL" });
      workers = [replacement, ...workers.filter((w) => !/:w0\.0$/.test(w.workerId))];

      const saga = await api<SagaJson>(running, "POST", "/sagas/start", {
        body: { saga_type: "demo_order", input: { order_id: "after-restart", step_ms: 50 } },
      });
      expect(saga.status, JSON.stringify(saga.body)).toBe(201);
      expect((await waitForEnd(running, saga.body.saga_id, 120_000)).status).toBe("completed");
    },
  );

  it("SIGTERM stops the API and drains both children; the service exits 0", SLOW, async () => {
    const running = service!;
    running.process.signal("SIGTERM");
    const exit = await running.process.waitForExit(60_000);
    expect(exit.code, running.process.describe("exit")).toBe(0);
    const stopped = running.process.stdout
      .split("\n")
      .filter((line) => line.includes('"saga worker drained and stopped"'));
    expect(stopped).toHaveLength(2);
  });
});

describe("saga serve --workers whose supervisor is killed", () => {
  let database: { url: string; drop: () => Promise<void> };
  afterAll(async () => {
    await killAllChildren();
    await database?.drop();
  }, 60_000);

  it("the worker child drains and exits by itself: no orphan keeps running", SLOW, async () => {
    database = await createFreshDatabase();
    const service = await startService(
      "serve --workers 1",
      { DATABASE_URL: database.url, LOG_LEVEL: "info", WORKER_PORT: "0" },
      { args: ["serve", "--workers", "1"], timeoutMs: 150_000 },
    );
    const child = await waitUntil(
      "the worker child running",
      () => {
        if (!service.process.alive) throw new Error(service.process.describe("exited"));
        const running = workerLines(service.process.stdout).length > 0;
        const started = logLines(service.process.stdout).find(
          (l) => l.msg === "worker process started",
        );
        return running && typeof started?.pid === "number" ? started.pid : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 200 },
    );
    service.process.signal("SIGKILL");
    await service.process.waitForExit(60_000); // "close": the child shares its stdout
    await waitUntil(
      `worker child ${child} gone`,
      () => {
        try {
          process.kill(child, 0);
          return false;
        } catch {
          return true; // ESRCH: the process no longer exists
        }
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    // Its last words went to the stdout it shares with the killed supervisor.
    expect(service.process.stdout).toContain("saga worker drained and stopped");
  });
});

describe("saga serve --workers refusals", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "saga-e2e-workers-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("without DATABASE_URL (embedded PGlite) exits 2 with one line, opening no store", async () => {
    const dataDir = join(dir, "pglite");
    const result = await runCli(["serve", "--workers", "2"], { env: { SAGA_DATA_DIR: dataDir } });
    expect(result.code, result.stderr).toBe(2);
    expect(result.errorLines).toHaveLength(1);
    expect(result.errorLines[0]).toMatch(/^saga: saga serve --workers needs DATABASE_URL/);
    expect(existsSync(dataDir), "no store was opened").toBe(false);
  });

  it.each(["0", "65", "2.5"])("--workers %s exits 2 naming the range", async (count) => {
    const result = await runCli(["serve", "--workers", count], {
      env: { SAGA_DATA_DIR: join(dir, `n-${count}`) },
    });
    expect(result.code, result.stderr).toBe(2);
    expect(result.errorLines).toHaveLength(1);
    expect(result.errorLines[0]).toBe(
      `saga: --workers must be an integer from 1 to 64 (got ${JSON.stringify(count)})`,
    );
  });
});
