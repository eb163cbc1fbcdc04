import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFreshDatabase } from "./support/database.js";
import {
  freePort,
  killAllChildren,
  runCli,
  type CliResult,
  type Exit,
} from "./support/processes.js";
import {
  api,
  eventsOf,
  openStream,
  startService,
  stopService,
  waitForEnd,
  type EventJson,
  type SagaJson,
  type ServiceProcess,
} from "./support/service.js";

/**
 * End to end: `saga serve` and the `saga` client commands as real processes
 * (`node --import tsx src/cli/main.ts`), talking over real sockets on 127.0.0.1.
 */

const SAGA_ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const STEPS = ["reserve_inventory", "charge_payment", "ship_order"] as const;
/** Per test: several CLI processes (about 2 s each to start with tsx) on a busy 2-core machine. */
const SLOW = { timeout: 120_000 };
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

afterAll(async () => {
  await killAllChildren();
});

/** Asserts a failed command: its exit code and exactly one stderr line matching `line`. */
function expectOneErrorLine(result: CliResult, code: number, line: RegExp): void {
  const context = `exit ${result.code}, stderr:\n${result.stderr}`;
  expect(result.code, context).toBe(code);
  expect(result.errorLines, context).toHaveLength(1);
  expect(result.errorLines[0], context).toMatch(/^saga: /);
  expect(result.errorLines[0], context).toMatch(line);
}

function expectSuccess(result: CliResult): void {
  expect(result.code, `exit ${result.code}, stderr:\n${result.stderr}`).toBe(0);
  expect(result.stderr).toBe("");
}

/** The timeline section of `saga show`: the event type (and step) of each line, in order. */
function timelineOf(showOutput: string): string[] {
  const section = showOutput.split("\ntimeline\n")[1] ?? "";
  return section
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.trim().replace(/^\+\d+ ms\s+/, ""));
}

/** The line of `saga show`'s steps section that names `step`. */
function stepLine(showOutput: string, step: string): string {
  const steps = (showOutput.split("\nsteps\n")[1] ?? "").split("\ntimeline\n")[0] ?? "";
  const line = steps.split("\n").find((l) => l.trim().startsWith(`${step} `));
  if (!line) throw new Error(`no line for step ${step} in:\n${showOutput}`);
  return line;
}

interface StoreSetup {
  name: string;
  /** Prepares an empty store and returns the service's environment for it. */
  prepare(): Promise<Record<string, string>>;
  cleanup(): Promise<void>;
  /** When set, the service requires this key (REQUIRE_API_KEY=true) and the CLI passes it. */
  apiKey?: string;
  /** Also check a shutdown with an event stream open (HTTP behaviour: one store is enough). */
  shutdownWithStream?: boolean;
}

function pgliteSetup(): StoreSetup {
  let dir = "";
  return {
    name: "embedded PGlite, anonymous access",
    async prepare() {
      dir = await mkdtemp(join(tmpdir(), "saga-e2e-pglite-"));
      return { SAGA_DATA_DIR: join(dir, "data") };
    },
    async cleanup() {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

function postgresSetup(): StoreSetup {
  const apiKey = `e2e-key-${randomBytes(16).toString("hex")}`;
  let drop: (() => Promise<void>) | null = null;
  return {
    name: "PostgreSQL, API key required",
    apiKey,
    shutdownWithStream: true,
    async prepare() {
      const database = await createFreshDatabase();
      drop = database.drop;
      return { DATABASE_URL: database.url, API_KEY: apiKey, REQUIRE_API_KEY: "true" };
    },
    async cleanup() {
      await drop?.();
    },
  };
}

describe.each([pgliteSetup(), postgresSetup()])("saga serve on $name", (setup) => {
  let env: Record<string, string>;
  let service: ServiceProcess;
  const auth = setup.apiKey ? ["--api-key", setup.apiKey] : [];
  const cli = (...args: string[]) => runCli([...args, "--url", service.url, ...auth]);
  const startSaga = async (
    input: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) => {
    const started = await api<SagaJson>(service, "POST", "/sagas/start", {
      body: { saga_type: "demo_order", input },
      headers,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    return started;
  };

  beforeAll(async () => {
    env = await setup.prepare();
    service = await startService(`serve (${setup.name})`, env, { apiKey: setup.apiKey });
  }, 180_000);

  afterAll(async () => {
    await stopService(service);
    await setup.cleanup();
  }, 60_000);

  it(
    "start prints the new saga's id; list, --json, --status and --attr find it",
    SLOW,
    async () => {
      const started = await cli(
        "start",
        "demo_order",
        "--input",
        '{"order_id":"o-1","step_ms":20}',
      );
      expectSuccess(started);
      const firstLine = started.stdout.split("\n")[0]!;
      expect(firstLine).toMatch(new RegExp(`^started ${SAGA_ID.source}\\s+demo_order\\s+v1\\s`));
      const sagaId = SAGA_ID.exec(firstLine)![0];
      expect(started.stdout).toContain(`${service.url}/sagas/${sagaId}/stream`);
      expect((await waitForEnd(service, sagaId)).status).toBe("completed");

      const [list, json, completed, byOrder, noMatch] = await Promise.all([
        cli("list"),
        cli("list", "--json"),
        cli("list", "--status", "completed"),
        cli("list", "--attr", "orderId=o-1"),
        cli("list", "--attr", `orderId=${unique("missing")}`),
      ]);
      for (const result of [list, json, completed, byOrder, noMatch]) expectSuccess(result);

      expect(list.stdout.split("\n").find((l) => l.startsWith(sagaId))).toMatch(
        /\sdemo_order\s+v1\s+completed\s/,
      );
      const page = JSON.parse(json.stdout) as { items: SagaJson[]; next_cursor: string | null };
      expect(page.items.find((s) => s.saga_id === sagaId)).toMatchObject({
        saga_type: "demo_order",
        status: "completed",
        attributes: { orderId: "o-1" },
      });
      const completedLines = completed.stdout.trim().split("\n");
      expect(completedLines.some((l) => l.startsWith(sagaId))).toBe(true);
      for (const line of completedLines) expect(line).toMatch(/\scompleted\s/);
      expect(byOrder.stdout.trim().split("\n")).toEqual([expect.stringMatching(`^${sagaId}\\s`)]);
      expect(noMatch.stdout.trim()).toBe("no sagas");
    },
  );

  it("show prints the steps and a timeline that ends with SagaCompleted", SLOW, async () => {
    const { body } = await startSaga({ order_id: unique("show"), step_ms: 20 });
    await waitForEnd(service, body.saga_id);

    const show = await cli("show", body.saga_id);
    expectSuccess(show);
    const lines = show.stdout.split("\n");
    expect(lines[0]).toMatch(new RegExp(`^saga ${body.saga_id}\\s+demo_order v1$`));
    expect(lines[1]).toMatch(/^status completed in \d+ ms, started /);
    for (const step of STEPS)
      expect(stepLine(show.stdout, step)).toMatch(/\scompleted\s+1 attempt\s/);
    expect(timelineOf(show.stdout)).toEqual([
      "SagaStarted",
      ...STEPS.flatMap((s) => [`StepStarted ${s} #1`, `StepCompleted ${s} #1`]),
      "SagaCompleted",
    ]);
  });

  it(
    "a saga whose last step fails ends compensated, and show lists the compensations",
    SLOW,
    async () => {
      const started = await cli(
        "start",
        "demo_order",
        "--json",
        "--input",
        JSON.stringify({ order_id: unique("fail"), step_ms: 20, fail_at: "ship_order" }),
      );
      expectSuccess(started);
      const sagaId = (JSON.parse(started.stdout) as SagaJson).saga_id;
      const ended = await waitForEnd(service, sagaId);
      expect(ended).toMatchObject({ status: "compensated", reason: "step_failed" });

      const show = await cli("show", sagaId);
      expectSuccess(show);
      expect(show.stdout).toContain("status compensated (reason: step_failed)");
      expect(show.stdout).toContain(
        "error  SAGA_STEP_FAILED: ship_order failed (asked by fail_at)",
      );
      expect(stepLine(show.stdout, "reserve_inventory")).toMatch(
        /\scompensated\s.*compensation completed$/,
      );
      expect(stepLine(show.stdout, "charge_payment")).toMatch(
        /\scompensated\s.*compensation completed$/,
      );
      expect(stepLine(show.stdout, "ship_order")).toMatch(/\sfailed\s/);
      const timeline = timelineOf(show.stdout);
      expect(timeline.slice(-7)).toEqual([
        "StepFailed ship_order #1 — ship_order failed (asked by fail_at)",
        "SagaCompensationStarted (step_failed)",
        "StepCompensationStarted charge_payment #1",
        "StepCompensated charge_payment #1",
        "StepCompensationStarted reserve_inventory #1",
        "StepCompensated reserve_inventory #1",
        "SagaCompensated",
      ]);
    },
  );

  it("cancel of a slow saga returns, and the saga ends compensated (cancelled)", SLOW, async () => {
    // Three steps of 10 s each (demo_order's longest): the saga runs for 30 s, far longer than one
    // CLI process takes to start, even on a loaded machine (3 s steps once ended first there).
    const { body } = await startSaga({ order_id: unique("slow"), step_ms: 10_000 });

    const cancel = await cli("cancel", body.saga_id);
    expectSuccess(cancel);
    expect(cancel.stdout).toMatch(new RegExp(`^cancelling ${body.saga_id}\\s+demo_order\\s`));

    const ended = await waitForEnd(service, body.saga_id);
    expect(ended).toMatchObject({ status: "compensated", reason: "cancelled" });
    const types = (await eventsOf(service, body.saga_id)).map((e) => e.type);
    expect(types).not.toContain("SagaCompleted");
    expect(types.at(-1)).toBe("SagaCompensated");
  });

  it(
    "cancel and retry of an ended saga exit 1 with one SAGA_INVALID_STATE line",
    SLOW,
    async () => {
      const { body } = await startSaga({ order_id: unique("ended"), step_ms: 20 });
      await waitForEnd(service, body.saga_id);

      const [cancel, retry] = await Promise.all([
        cli("cancel", body.saga_id),
        cli("retry", body.saga_id),
      ]);
      expectOneErrorLine(cancel, 1, /^saga: SAGA_INVALID_STATE: .*completed.*cannot be cancelled/);
      expectOneErrorLine(
        retry,
        1,
        /^saga: SAGA_INVALID_STATE: .*only a failed saga can be retried/,
      );
      expect(cancel.stdout).toBe("");
      expect(retry.stdout).toBe("");
    },
  );

  it(
    "POST /sagas/start answers 201, then 200 with the same saga for a repeated Idempotency-Key",
    SLOW,
    async () => {
      const key = unique("idem");
      const input = { order_id: unique("idem"), step_ms: 20 };
      const first = await startSaga(input, { "idempotency-key": key });
      expect(first.body.idempotency_key).toBe(key);
      expect(first.headers.get("location")).toBe(`/sagas/${first.body.saga_id}`);

      const again = await api<SagaJson>(service, "POST", "/sagas/start", {
        body: { saga_type: "demo_order", input },
        headers: { "idempotency-key": key },
      });
      expect(again.status).toBe(200);
      expect(again.body.saga_id).toBe(first.body.saga_id);

      const listed = await api<{ items: SagaJson[] }>(
        service,
        "GET",
        `/sagas/?orderId=${input.order_id}`,
      );
      expect(listed.body.items.map((s) => s.saga_id)).toEqual([first.body.saga_id]);
    },
  );

  it(
    "GET /sagas/{id}/stream sends the events in seq order, ends with the terminal event and closes",
    SLOW,
    async () => {
      const { body } = await startSaga({ order_id: unique("sse"), step_ms: 150 });
      const { response, reader } = await openStream(service, body.saga_id);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const messages = await reader.waitForClose(60_000);

      const events = messages.map((m) => ({ ...m, parsed: JSON.parse(m.data) as EventJson }));
      expect(events.map((m) => m.id)).toEqual(events.map((_, i) => String(i + 1)));
      for (const m of events) {
        expect(m.parsed.seq).toBe(Number(m.id));
        expect(m.parsed.type).toBe(m.event);
      }
      expect(events[0]?.event).toBe("SagaStarted");
      expect(events.at(-1)?.event).toBe("SagaCompleted");
      expect(events.filter((m) => m.event === "StepCompleted")).toHaveLength(3);
      // The stream is the stored history, nothing more, nothing less.
      const stored = await eventsOf(service, body.saga_id);
      expect(events.map((m) => m.parsed)).toEqual(stored);

      // An ended saga's stream replays the history and closes at once.
      const replay = await openStream(service, body.saga_id, { "last-event-id": "2" });
      expect(replay.response.status).toBe(200);
      const replayed = await replay.reader.waitForClose(30_000);
      expect(replayed.map((m) => m.id)).toEqual(stored.slice(2).map((e) => String(e.seq)));
    },
  );

  it(
    "the X-Correlation-ID of a start comes back in the answer and is the saga's correlation_id",
    SLOW,
    async () => {
      const correlationId = unique("corr");
      const started = await startSaga(
        { order_id: unique("corr"), step_ms: 20 },
        { "x-correlation-id": correlationId },
      );
      expect(started.headers.get("x-correlation-id")).toBe(correlationId);
      expect(started.body.correlation_id).toBe(correlationId);
      const stored = await api<SagaJson>(service, "GET", `/sagas/${started.body.saga_id}`);
      expect(stored.body.correlation_id).toBe(correlationId);

      // Without the header, the service makes one up and still reports it.
      const other = await startSaga({ order_id: unique("corr"), step_ms: 20 });
      const generated = other.headers.get("x-correlation-id");
      expect(generated).toMatch(SAGA_ID);
      expect(other.body.correlation_id).toBe(generated);
    },
  );

  if (setup.apiKey) {
    const key = setup.apiKey;
    it(
      "with REQUIRE_API_KEY=true the CLI needs --api-key: 401 codes without it or with a wrong one",
      SLOW,
      async () => {
        const [none, wrong, right] = await Promise.all([
          runCli(["list", "--url", service.url]),
          runCli(["list", "--url", service.url, "--api-key", `wrong-${key}`]),
          runCli(["list", "--url", service.url, "--api-key", key]),
        ]);
        expectOneErrorLine(none, 1, /^saga: UNAUTHORIZED: /);
        expectOneErrorLine(wrong, 1, /^saga: INVALID_API_KEY: /);
        expectSuccess(right);

        const anonymous = await fetch(`${service.url}/sagas/`);
        expect(anonymous.status).toBe(401);
        await anonymous.arrayBuffer();
        const health = await fetch(`${service.url}/health/ready`);
        expect(health.status).toBe(200);
        await health.arrayBuffer();
      },
    );
  }

  /** Stops the service (SIGKILL if it does not end) and starts it again on the same store. */
  const restart = async (why: string) => {
    await stopService(service, 5_000);
    service = await startService(`serve after ${why} (${setup.name})`, env, {
      apiKey: setup.apiKey,
    });
  };

  if (setup.shutdownWithStream) {
    // The service restarts here.
    it(
      "SIGTERM with an event stream open: the stopping service starts no new step and exits 0",
      { timeout: 240_000 },
      async () => {
        const { body } = await startSaga({ order_id: unique("term-sse"), step_ms: 10_000 });
        const { response, reader } = await openStream(service, body.saga_id, {}, 180_000);
        expect(response.status).toBe(200);
        await reader.waitFor("StepStarted", (m) => m.event === "StepStarted", 30_000);
        const seenBeforeSignal = reader.messages.length;
        let exit: Exit | undefined;
        let stderr: string | undefined;
        try {
          service.process.signal("SIGTERM");
          // Grace 10 s (SAGA_SHUTDOWN_GRACE_SECONDS default); the rest is margin for a busy machine.
          exit = await service.process.waitForExit(60_000);
          stderr = service.process.stderr;
          await reader.waitForClose(30_000).catch(() => undefined); // ends with the process
        } finally {
          await restart("SIGTERM with a stream");
        }
        expect(exit).toEqual({ code: 0, signal: null });
        expect(stderr).toContain("received SIGTERM");
        const writtenAfterSignal = reader.messages.slice(seenBeforeSignal).map((m) => {
          const event = JSON.parse(m.data) as EventJson;
          return typeof event.data.step === "string"
            ? `${event.type} ${event.data.step}`
            : event.type;
        });
        // Only the step in flight may finish; the next one is for the restarted service.
        expect(writtenAfterSignal, "events written after SIGTERM").toEqual(
          writtenAfterSignal.filter((e) => !e.startsWith("StepStarted")),
        );

        const ended = await waitForEnd(service, body.saga_id, 90_000);
        expect(ended.status).toBe("completed");
      },
    );
  }

  // The service restarts here: keep it last in this block.
  it(
    "SIGTERM during a saga: serve exits 0 within the grace period; after a restart the saga completes",
    { timeout: 240_000 },
    async () => {
      const { body } = await startSaga({ order_id: unique("term"), step_ms: 1_500 });
      expect(body.status).toBe("running");

      let exit: Exit | undefined;
      let stderr: string | undefined;
      try {
        service.process.signal("SIGTERM");
        // Grace 10 s (SAGA_SHUTDOWN_GRACE_SECONDS default); the rest is margin for a busy machine.
        exit = await service.process.waitForExit(40_000);
        stderr = service.process.stderr;
      } finally {
        await restart("SIGTERM");
      }
      expect(exit, stderr).toEqual({ code: 0, signal: null });
      expect(stderr).toContain("received SIGTERM");

      const ended = await waitForEnd(service, body.saga_id);
      expect(ended.status).toBe("completed");
      // Each step ran once: the step in flight finished within the grace period, the restarted
      // service went on with the next one, nothing was lost or re-run.
      const events = await eventsOf(service, body.saga_id);
      const attempts = (type: string) =>
        events
          .filter((e) => e.type === type)
          .map((e) => `${String(e.data.step)} #${String(e.data.attempt)}`);
      const once = STEPS.map((s) => `${s} #1`);
      expect(attempts("StepStarted")).toEqual(once);
      expect(attempts("StepCompleted")).toEqual(once);
    },
  );
});

describe("wrong usage of the CLI", () => {
  it.each([
    { args: ["frobnicate"], line: /^saga: unknown command "frobnicate"/ },
    { args: ["list", "--bogus"], line: /^saga: unknown option '--bogus'/ },
    { args: ["show"], line: /^saga: show needs exactly one saga id/ },
    {
      args: ["start", "demo_order", "--input", "{not json"],
      line: /^saga: --input must be JSON/,
    },
  ])("saga $args exits 2 with one line on stderr", async ({ args, line }) => {
    const result = await runCli(args);
    expect(result.code, result.stderr).toBe(2);
    expect(result.errorLines).toHaveLength(1);
    expect(result.errorLines[0]).toMatch(line);
    expect(result.stdout).toBe("");
  });

  it("a client command against a closed port exits 1: it cannot reach the service", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(["list", "--url", url]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.errorLines).toHaveLength(1);
    expect(result.errorLines[0]).toMatch(/^saga: cannot reach the service at /);
    expect(result.errorLines[0]).toContain(url);
  });
});

describe("start-up with a bad configuration", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "saga-e2e-config-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each<{ env: Record<string, string>; variable: string }>([
    { env: { PORT: "abc" }, variable: "PORT" },
    { env: { REQUIRE_API_KEY: "true" }, variable: "REQUIRE_API_KEY" },
    // Fails closed: no credentials on a non-loopback address (the line names the fix).
    { env: { HOST: "0.0.0.0" }, variable: "HOST=0.0.0.0" },
    { env: { SAGA_TYPO: "1" }, variable: "SAGA_TYPO" },
    { env: { DATABASE_URL: "mysql://x" }, variable: "DATABASE_URL" },
  ])("serve with $variable wrong exits 2 with one line naming it", async ({ env, variable }) => {
    const dataDir = join(dir, variable);
    const result = await runCli(["serve"], { env: { ...env, SAGA_DATA_DIR: dataDir } });
    expect(result.code, result.stderr).toBe(2);
    expect(result.errorLines).toHaveLength(1);
    expect(result.errorLines[0]).toMatch(/^saga: invalid configuration: /);
    expect(result.errorLines[0]).toContain(variable);
    expect(existsSync(dataDir), "no store was opened").toBe(false);
  });

  it("worker without DATABASE_URL exits 2 and says it needs DATABASE_URL", async () => {
    const result = await runCli(["worker"], { env: { SAGA_DATA_DIR: join(dir, "worker") } });
    expect(result.code, result.stderr).toBe(2);
    expect(result.errorLines).toHaveLength(1);
    expect(result.errorLines[0]).toMatch(/^saga: saga worker needs DATABASE_URL/);
  });
});
