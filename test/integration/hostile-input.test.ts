import { randomUUID } from "node:crypto";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InProcessBus } from "../../src/bus/in-process-bus.js";
import { ErrorCodes } from "../../src/core/errors.js";
import { Limits } from "../../src/core/limits.js";
import { compileDefinition } from "../../src/definitions/format/compile.js";
import type { BusMessage, EventBus } from "../../src/engine/bus-port.js";
import { defineSaga, type SagaDefinition } from "../../src/engine/definition.js";
import { EventIntake } from "../../src/engine/event-intake.js";
import { createSsrfGuard } from "../../src/steps/http/ssrf-guard.js";
import { SqlEventStore } from "../../src/store/sql-event-store.js";
import { sqlClientOf } from "../../src/store/sql-client-of.js";
import { waitUntil } from "../helpers/time.js";
import { engineHarness, memoryLogger } from "../helpers/engine.js";
import { redisBuses } from "../helpers/events.js";
import { assertRedisAnswers, rawRedis } from "../helpers/redis.js";
import { storeKinds } from "../helpers/stores.js";

// A hostile-input corpus for the entry points of the engine: bus messages (in-process and Redis
// Streams), downstream answers, step results and durations. Each one is answered with a clear,
// coded error (a dead letter, a terminal step error, a refused definition) while the same
// process goes on serving: every case ends with a normal saga or event succeeding.

/** JSON text nested `depth` levels deep: {"a":{"a":…1…}}. */
const deepText = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
/** The same as a value (built iteratively: no recursion here either). */
function deepValue(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

const DAY = 86_400_000;

const pglite = storeKinds().find((k) => k.name === "pglite")!;

/** A saga every test runs at the end to show the process still serves normally. */
const healthy = defineSaga({
  name: "hostile_healthy",
  steps: [{ name: "ok", action: () => ({ fine: true }) }],
}) as unknown as SagaDefinition<never>;

const registered = defineSaga<{ user_id: string }>({
  name: "hostile_onboarding",
  triggers: [
    {
      event: "user.registered",
      input: (event) => ({ user_id: String((event.data as { user_id: unknown }).user_id) }),
    },
    {
      event: "bad.mapping",
      input: () => {
        throw new Error("this trigger cannot map its event (test)");
      },
    },
  ],
  steps: [{ name: "profile", action: (ctx) => ({ profile: ctx.input.user_id }) }],
}) as unknown as SagaDefinition<never>;

function message(type: string, tenantId: string, data: unknown): BusMessage {
  return {
    id: randomUUID(),
    type,
    tenantId,
    key: null,
    data: data as BusMessage["data"],
    occurredAt: Date.now(),
  };
}

beforeAll(async () => {
  await assertRedisAnswers();
});

describe("hostile input: bus messages", () => {
  const harness = engineHarness(pglite);
  const buses = redisBuses();
  const intakes: EventIntake[] = [];
  afterEach(async () => {
    await Promise.all(intakes.splice(0).map((i) => i.stop()));
  });

  async function intakeOn(bus: EventBus) {
    const orchestrator = await harness.orchestrator([registered, healthy]);
    const logger = memoryLogger();
    const intake = await EventIntake.start({
      bus,
      store: harness.store,
      orchestrator,
      logger,
      maxDeliveries: 2,
      claimIdleMs: 100,
    });
    intakes.push(intake);
    const started = async (userId: string) =>
      (await orchestrator.list({ names: ["hostile_onboarding"] })).items.some(
        (s) => (s.input as { user_id: string }).user_id === userId,
      );
    return { orchestrator, logger, started };
  }

  it("in-process: deeply nested data is refused at publish (it ended the process); the next message is handled", async () => {
    const bus = new InProcessBus({ retryDelayMs: 10 });
    try {
      const { orchestrator, started } = await intakeOn(bus);
      for (const data of [deepValue(3_000), deepValue(100_000), { s: "nul\u0000" }, ["\ud800"]]) {
        await expect(
          bus.publish([message("user.registered", orchestrator.tenantId, data)]),
        ).rejects.toMatchObject({ code: "SAGA_BUS_INVALID_MESSAGE" });
      }
      const userId = `u-${randomUUID()}`;
      await bus.publish([message("user.registered", orchestrator.tenantId, { user_id: userId })]);
      await waitUntil("the next good message starts its saga", () => started(userId));
      expect((await (await orchestrator.start("hostile_healthy", {})).result()).status).toBe(
        "completed",
      );
    } finally {
      await bus.close();
    }
  });

  it("in-process: a trigger mapping that throws fails its event only; the good events of the same batch are acknowledged", async () => {
    const bus = new InProcessBus({ retryDelayMs: 10 });
    try {
      const { orchestrator, started } = await intakeOn(bus);
      const good = Array.from({ length: 5 }, () => `u-${randomUUID()}`);
      const bad = message("bad.mapping", orchestrator.tenantId, {});
      // One publish: the intake gets them as one batch.
      await bus.publish([
        ...good
          .slice(0, 2)
          .map((u) => message("user.registered", orchestrator.tenantId, { user_id: u })),
        bad,
        ...good
          .slice(2)
          .map((u) => message("user.registered", orchestrator.tenantId, { user_id: u })),
      ]);
      await waitUntil("the bad event is dead-lettered", () => bus.deadLetters.length === 1);
      expect(bus.deadLetters.map((l) => l.message?.id)).toEqual([bad.id]);
      expect(bus.deadLetters[0]!.error).toContain("cannot map its event");
      for (const u of good) expect(await started(u)).toBe(true);
      // Each good event started exactly one saga: they were not delivered again with the bad one.
      const items = (await orchestrator.list({ names: ["hostile_onboarding"] })).items;
      expect(items).toHaveLength(good.length);
    } finally {
      await bus.close();
    }
  });

  it.each<[string, string, RegExp]>([
    ["deeply nested data (10,000 levels)", deepText(10_000), /nested deeper than 64 levels/],
    ["a NUL character", JSON.stringify({ user_id: "x\u0000y" }), /NUL character/],
    ["a lone surrogate", '{"user_id":"\\ud800"}', /lone surrogate/],
    ["a number out of range", '{"user_id":1e400}', /non-finite number/],
    [
      "data over 1 MiB",
      JSON.stringify({ s: "x".repeat(Limits.MAX_BUS_DATA_BYTES) }),
      /larger than/,
    ],
    ["data that is not JSON", "{not json", /not JSON/],
  ])(
    "Redis Streams: an entry with %s is dead-lettered with the reason while the next good message is processed",
    async (_, data, reason) => {
      const bus = buses.open();
      const { orchestrator, started } = await intakeOn(bus);
      const redis = rawRedis();
      try {
        const id = randomUUID();
        // Written by someone else on the stream: the bus's own publish would refuse it.
        await redis.xadd(
          bus.keys.stream,
          "*",
          ...[
            "id",
            id,
            "type",
            "user.registered",
            "tenant",
            orchestrator.tenantId,
            "data",
            data,
            "occurred_at",
            String(Date.now()),
          ],
        );
        const userId = `u-${randomUUID()}`;
        await bus.publish([message("user.registered", orchestrator.tenantId, { user_id: userId })]);
        await waitUntil("the next good message starts its saga", () => started(userId), {
          timeoutMs: 20_000,
        });
        await waitUntil(
          "the hostile entry is dead-lettered",
          async () => (await bus.readDeadLetters()).length === 1,
          { timeoutMs: 20_000 },
        );
        const [letter] = await bus.readDeadLetters();
        expect(letter!.error).toMatch(reason);
        expect(letter!.error).toMatch(/SAGA_BUS_MALFORMED_ENTRY|undecodable bus entry/);
        expect(letter!.raw?.id).toBe(id);
      } finally {
        redis.disconnect();
      }
    },
  );

  it("Redis Streams: a trigger mapping that throws dead-letters its event only", async () => {
    const bus = buses.open();
    const { orchestrator, started } = await intakeOn(bus);
    const good = `u-${randomUUID()}`;
    const bad = message("bad.mapping", orchestrator.tenantId, {});
    await bus.publish([bad, message("user.registered", orchestrator.tenantId, { user_id: good })]);
    await waitUntil("the good event starts its saga", () => started(good), { timeoutMs: 20_000 });
    await waitUntil(
      "the bad event is dead-lettered",
      async () => (await bus.readDeadLetters()).length === 1,
      { timeoutMs: 20_000 },
    );
    const [letter] = await bus.readDeadLetters();
    expect(letter!.message?.id).toBe(bad.id);
    expect(letter!.error).toContain("cannot map its event");
    expect((await orchestrator.list({ names: ["hostile_onboarding"] })).items).toHaveLength(1);
  });
});

describe("hostile input: downstream answers, step results, event data", () => {
  const harness = engineHarness(pglite);
  let server: Server;
  let base = "";
  let answer: (res: ServerResponse) => void = (res) => res.writeHead(204).end();
  const undone: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.method === "DELETE") {
          undone.push(req.url ?? "");
          res.writeHead(204).end();
        } else if (req.url === "/reserve") {
          res.writeHead(201, { "content-type": "application/json" }).end('{"reserved":1}');
        } else answer(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const json = (text: string) => (res: ServerResponse) =>
    res.writeHead(200, { "content-type": "application/json" }).end(text);

  function callingSaga(name: string) {
    return compileDefinition(
      {
        name,
        version: 1,
        retry: { max_attempts: 3, initial_delay_ms: 1 },
        steps: [
          {
            name: "reserve",
            request: { service: "stock", method: "POST", path: "/reserve" },
            compensation: { request: { service: "stock", method: "DELETE", path: "/reserve/1" } },
          },
          {
            name: "fetch",
            request: { service: "stock", method: "GET", path: "/answer" },
            compensation: "none",
          },
        ],
      },
      {
        http: {
          serviceUrls: { stock: base },
          secrets: () => undefined,
          transport: { guard: createSsrfGuard({ serviceUrls: [base] }) },
        },
        knownSaga: () => false,
        childrenOf: () => [],
      },
    ) as unknown as SagaDefinition<never>;
  }

  it.each<[string, string | ((res: ServerResponse) => void), string]>([
    [
      "nested 100,000 levels (it ended the process)",
      deepText(100_000),
      ErrorCodes.SAGA_JSON_TOO_DEEP,
    ],
    ["nested 65 levels", deepText(65), ErrorCodes.SAGA_JSON_TOO_DEEP],
    ["with a NUL escape", '{"name":"a\\u0000b"}', ErrorCodes.SAGA_JSON_BAD_STRING],
    ["with a lone surrogate", '["\\udfff"]', ErrorCodes.SAGA_JSON_BAD_STRING],
    ["with a number out of range", '{"n":-1e999}', ErrorCodes.SAGA_JSON_BAD_NUMBER],
    [
      "as text with a raw NUL",
      (res) => res.writeHead(200, { "content-type": "text/plain" }).end("a\u0000b"),
      ErrorCodes.SAGA_JSON_BAD_STRING,
    ],
  ])(
    "an answer %s is a terminal step error with its code; the saga compensates",
    async (_, body, code) => {
      answer = typeof body === "string" ? json(body) : body;
      undone.length = 0;
      const name = `hostile_http_${randomUUID().slice(0, 8)}`;
      const orchestrator = await harness.orchestrator([callingSaga(name), healthy]);
      const result = await (await orchestrator.start(name, {})).result();
      expect(result.status).toBe("compensated");
      expect(result.error).toMatchObject({ code, retryable: false });
      expect(result.state.steps.fetch?.attempts).toBe(1); // terminal: not retried
      expect(undone).toEqual(["/reserve/1"]);
      answer = json('{"ok":true}');
      expect((await (await orchestrator.start("hostile_healthy", {})).result()).status).toBe(
        "completed",
      );
    },
  );

  it("an error answer whose body is cut inside a surrogate pair or holds NUL is stored readable", async () => {
    answer = (res) =>
      res
        .writeHead(422, { "content-type": "text/plain" })
        .end("x".repeat(1999) + "😀" + "\u0000 tail");
    const name = `hostile_http_${randomUUID().slice(0, 8)}`;
    const orchestrator = await harness.orchestrator([callingSaga(name)]);
    const result = await (await orchestrator.start(name, {})).result();
    expect(result.status).toBe("compensated");
    expect(result.error?.code).toBe("SAGA_HTTP_4XX");
    const shown = (result.error?.details as { body: string }).body;
    expect(shown).toHaveLength(2000);
    expect(shown.endsWith("\ufffd")).toBe(true); // the cut half of the pair, replaced
  });

  it("step results: too deep, NUL, lone surrogate and over the size quota fail the step with a code", async () => {
    const cases: [unknown, string][] = [
      [deepValue(100_000), ErrorCodes.SAGA_JSON_TOO_DEEP],
      [{ s: "\u0000" }, ErrorCodes.SAGA_JSON_BAD_STRING],
      [{ s: "\udc00" }, ErrorCodes.SAGA_JSON_BAD_STRING],
      [
        { big: "x".repeat(Limits.DEFAULT_MAX_STEP_RESULT_BYTES) },
        ErrorCodes.SAGA_STEP_RESULT_TOO_LARGE,
      ],
    ];
    const saga = defineSaga<{ i: number }>({
      name: "hostile_results",
      steps: [{ name: "r", action: (ctx) => cases[ctx.input.i]![0] }],
    }) as unknown as SagaDefinition<never>;
    const orchestrator = await harness.orchestrator([saga, healthy]);
    for (const [i, [, code]] of cases.entries()) {
      const result = await (await orchestrator.start("hostile_results", { i })).result();
      expect(result.error, `case ${i}`).toMatchObject({ code, retryable: false });
      expect(result.state.steps.r?.attempts, `case ${i}`).toBe(1);
    }
    // The quota is configurable: a smaller one refuses what the default takes.
    const strict = await harness.orchestrator([saga], { maxStepResultBytes: 1024 });
    const small = await (await strict.start("hostile_results", { i: 1 })).result();
    expect(small.error?.code).toBe(ErrorCodes.SAGA_JSON_BAD_STRING);
    expect((await (await orchestrator.start("hostile_healthy", {})).result()).status).toBe(
      "completed",
    );
  });

  it("saga input: deep or NUL input is refused at start with a code", async () => {
    const orchestrator = await harness.orchestrator([healthy]);
    await expect(orchestrator.start("hostile_healthy", deepValue(5_000))).rejects.toMatchObject({
      code: ErrorCodes.SAGA_JSON_TOO_DEEP,
    });
    await expect(orchestrator.start("hostile_healthy", { s: "\u0000" })).rejects.toMatchObject({
      code: ErrorCodes.SAGA_JSON_BAD_STRING,
    });
  });

  it("event store: deep, NUL and oversized data are refused with a code; replay has a quota", async () => {
    const events = new SqlEventStore(sqlClientOf(harness.store)!, { maxReplayEvents: 3 });
    const tenant = `t-${randomUUID()}`;
    const append = (data: unknown) =>
      events.append(tenant, "s-1", [{ type: "x.happened", data: data as never }]);
    await expect(append(deepValue(5_000))).rejects.toMatchObject({
      code: ErrorCodes.SAGA_JSON_TOO_DEEP,
    });
    await expect(append({ s: "\u0000" })).rejects.toMatchObject({
      code: ErrorCodes.SAGA_JSON_BAD_STRING,
    });
    await expect(
      append({ s: "x".repeat(Limits.DEFAULT_MAX_EVENT_DATA_BYTES) }),
    ).rejects.toMatchObject({ code: ErrorCodes.SAGA_EVENT_TOO_LARGE });
    for (let i = 0; i < 4; i++) await append({ i });
    await expect(events.replay(tenant, "s-1")).rejects.toMatchObject({
      code: ErrorCodes.SAGA_REPLAY_TOO_LARGE,
    });
    expect(await events.replay(tenant, "s-1", { fromVersion: 2 })).toBe(3);
  });
});

describe("hostile input: extreme durations", () => {
  const harness = engineHarness(pglite);

  it("a step with a 30-day timeout completes (the timer overflowed 2^31 ms and every attempt timed out at once)", async () => {
    const saga = defineSaga({
      name: "hostile_long_timeout",
      timeoutMs: 40 * DAY,
      retry: { maxAttempts: 1 },
      steps: [
        {
          name: "slowish",
          timeoutMs: 30 * DAY,
          action: () => new Promise((r) => setTimeout(() => r("done"), 50)),
        },
      ],
    }) as unknown as SagaDefinition<never>;
    const orchestrator = await harness.orchestrator([saga]);
    const result = await (await orchestrator.start("hostile_long_timeout", {})).result();
    expect(result.error).toBeNull();
    expect(result.status).toBe("completed");
  });

  it.each<[string, () => unknown]>([
    [
      "a saga deadline over 365 days",
      () =>
        defineSaga({ name: "d", timeoutMs: 366 * DAY, steps: [{ name: "s", action: () => 1 }] }),
    ],
    [
      "a step timeout over 365 days",
      () => defineSaga({ name: "d", steps: [{ name: "s", timeoutMs: 2 ** 53, action: () => 1 }] }),
    ],
    [
      "a retry delay over a day",
      () =>
        defineSaga({
          name: "d",
          retry: { maxDelayMs: 2 * DAY },
          steps: [{ name: "s", action: () => 1 }],
        }),
    ],
  ])("defineSaga refuses %s with SAGA_DURATION_TOO_LONG", (_, define) => {
    expect(define).toThrow(expect.objectContaining({ code: ErrorCodes.SAGA_DURATION_TOO_LONG }));
  });

  it("defineSaga refuses an infinite or negative timeout as an invalid definition", () => {
    for (const timeoutMs of [Infinity, -1, Number.NaN])
      expect(() =>
        defineSaga({ name: "d", timeoutMs, steps: [{ name: "s", action: () => 1 }] }),
      ).toThrow(expect.objectContaining({ code: ErrorCodes.SAGA_INVALID_DEFINITION }));
  });

  it("sleep and waitForEvent past 365 days fail the step with SAGA_DURATION_TOO_LONG", async () => {
    const saga = defineSaga<{ kind: string }>({
      name: "hostile_long_sleep",
      steps: [
        {
          name: "nap",
          action: (ctx) =>
            ctx.input.kind === "sleep"
              ? ctx.sleep(400 * DAY)
              : ctx.waitForEvent("x", { path: "data.id", equals: 1, timeoutMs: 1e300 }),
        },
      ],
    }) as unknown as SagaDefinition<never>;
    const orchestrator = await harness.orchestrator([saga]);
    for (const kind of ["sleep", "wait"]) {
      const result = await (await orchestrator.start("hostile_long_sleep", { kind })).result();
      expect(result.error, kind).toMatchObject({ code: ErrorCodes.SAGA_DURATION_TOO_LONG });
    }
  });

  it("a declarative definition with a sleep, a wait or a timeout past its maximum is refused with SAGA_DURATION_TOO_LONG", () => {
    const doc = {
      name: "too_long",
      version: 1,
      timeout_seconds: 1e12,
      steps: [
        { name: "nap", kind: "sleep", seconds: 1e9 },
        {
          name: "await",
          kind: "wait",
          event: "x",
          match: { path: "data.id", equals: "1" },
          timeout_seconds: 1e9,
        },
      ],
    };
    let thrown: unknown;
    try {
      compileDefinition(doc, {
        http: {
          serviceUrls: {},
          secrets: () => undefined,
          transport: { guard: createSsrfGuard({ serviceUrls: [] }) },
        },
        knownSaga: () => false,
        childrenOf: () => [],
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: ErrorCodes.SAGA_DURATION_TOO_LONG });
    const details = (thrown as { details: { path: string; code: string; message: string }[] })
      .details;
    const tooLong = (path: string) => ({
      path,
      code: ErrorCodes.SAGA_DURATION_TOO_LONG,
      message: expect.stringMatching(/^is longer than the maximum/) as unknown,
    });
    expect(details).toEqual(
      expect.arrayContaining([
        tooLong("$.timeout_seconds"),
        tooLong("$.steps[0].seconds"),
        tooLong("$.steps[1].timeout_seconds"),
      ]),
    );
  });

  it("a stored Retry-After of any size is capped", async () => {
    const { parseRetryAfter } = await import("../../src/steps/http/outcome.js");
    expect(parseRetryAfter("9".repeat(400), 0)).toBe(15 * 60_000);
    expect(parseRetryAfter("Fri, 31 Dec 275759 23:59:59 GMT", 0)).toBe(15 * 60_000);
    expect(parseRetryAfter("5", 0)).toBe(5000);
  });
});
