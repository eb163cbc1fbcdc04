import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Json } from "../../src/core/json.js";
import type { CompiledDefinition } from "../../src/definitions/format/compile.js";
import type { Orchestrator } from "../../src/engine/orchestrator.js";
import { sqlClientOf } from "../../src/store/sql-client-of.js";
import {
  startDownstreamSimulator,
  type DownstreamSimulator,
  type FailureRule,
  type LedgerEntry,
} from "../../src/testing/downstream-simulator.js";
import { engineHarness, memoryLogger } from "../helpers/engine.js";
import { storeKinds } from "../helpers/stores.js";
import { compileBuiltinSagas } from "./support/builtin-sagas.js";
import { childEnv, ROOT } from "./support/processes.js";

// A secret whose value must reach the Airtable connector and nowhere else.
const CANARY = `canary-airtable-${randomBytes(12).toString("hex")}`;

let sim: DownstreamSimulator;
let sagas: CompiledDefinition[];

beforeAll(async () => {
  sim = await startDownstreamSimulator({ airtableToken: CANARY });
  sagas = compileBuiltinSagas({
    serviceUrls: sim.urls,
    secrets: (name) => (name === "AIRTABLE_TOKEN" ? CANARY : undefined),
  });
});
afterAll(async () => {
  await sim.close();
});

const ONBOARDING = [
  "create_user_profile",
  "setup_default_workspace",
  "send_welcome_email",
  "create_sample_airtable_base",
] as const;
/** The onboarding steps that can be undone (an email cannot). */
const COMPENSABLE = new Set<string>([
  "create_user_profile",
  "setup_default_workspace",
  "create_sample_airtable_base",
]);
/** The request of each onboarding step, narrowed to one user by its body. */
const ONBOARDING_ROUTES: Record<
  (typeof ONBOARDING)[number],
  (userId: string) => Pick<FailureRule, "service" | "method" | "path" | "match">
> = {
  create_user_profile: (u) => ({
    service: "user",
    method: "POST",
    path: "/users",
    match: { id: u },
  }),
  setup_default_workspace: (u) => ({
    service: "permission",
    method: "POST",
    path: "/workspaces",
    match: { owner_id: u },
  }),
  send_welcome_email: (u) => ({
    service: "notification",
    method: "POST",
    path: "/notifications/email",
    match: { user_id: u },
  }),
  create_sample_airtable_base: (u) => ({
    service: "airtable",
    method: "POST",
    path: "/bases",
    match: { owner_id: u },
  }),
};

const newId = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

/** The onboarding input the `user.registered` trigger makes of an event. */
function onboardingInput(userId: string): Json {
  const definition = sagas.find((s) => s.name === "user_onboarding")!;
  const trigger = definition.triggers.find((t) => t.event === "user.registered")!;
  return trigger.input({
    id: newId("evt"),
    type: "user.registered",
    tenantId: "default",
    key: userId,
    data: { user_id: userId, email: `${userId}@example.com`, name: "Ada", plan: "free" },
    occurredAt: Date.now(),
  });
}

/** The calls a saga made, labelled `step` or `step:compensate` from their Idempotency-Key. */
function callsOf(sagaId: string): (LedgerEntry & { label: string })[] {
  return sim
    .ledger({ keyPrefix: `${sagaId}:` })
    .map((c) => ({ ...c, label: c.idempotencyKey!.slice(sagaId.length + 1) }));
}

const ownedBy = (kind: string, field: string, value: string) =>
  Object.values(sim.resources()[kind] ?? {}).filter((r) => r[field] === value);

describe.each(storeKinds())("built-in sagas against the downstream simulator: $name", (kind) => {
  const h = engineHarness(kind);
  const logger = memoryLogger();
  const orchestrator = (): Promise<Orchestrator> => h.orchestrator(sagas, { logger, outbox: true });

  it("all three complete; every call carries <sagaId>:<step> and the saga's correlation id", async () => {
    const orch = await orchestrator();
    const userId = newId("u");
    const correlationId = newId("corr");
    const runs = {
      user_onboarding: await orch.start("user_onboarding", onboardingInput(userId), {
        correlationId,
      }),
      airtable_integration: await orch.start(
        "airtable_integration",
        { user_id: userId, base_id: "appSales2024" },
        { correlationId },
      ),
      workflow_execution: await orch.start(
        "workflow_execution",
        {
          workflow_id: "wf-import",
          user_id: userId,
          base_id: "appSales2024",
          table_id: "tblLeads",
          file_ids: ["file-a.csv", "file-b.xlsx"],
        },
        { correlationId },
      ),
    };
    for (const [name, run] of Object.entries(runs)) {
      const result = await run.result();
      expect(result.status, name).toBe("completed");
      const definition = sagas.find((s) => s.name === name)!;
      const calls = callsOf(run.sagaId);
      // Exactly one call per step, in order, each with the step's key and the correlation id.
      expect(calls.map((c) => c.label)).toEqual([...definition.steps.keys()]);
      for (const call of calls) {
        expect(call.idempotencyKey).toBe(`${run.sagaId}:${call.label}`);
        expect(call.correlationId).toBe(correlationId);
        expect(call.status).toBeGreaterThanOrEqual(200);
        expect(call.status).toBeLessThan(300);
        expect(call.replayed).toBe(false);
      }
    }

    const onboarding = await runs.user_onboarding.result();
    expect(onboarding.state.attributes).toEqual({ userId });
    const baseId = (onboarding.results.create_sample_airtable_base as { base_id: string }).base_id;
    expect(sim.resources().bases?.[baseId]).toMatchObject({ owner_id: userId });
    expect(sim.resources().users?.[userId]).toMatchObject({ email: `${userId}@example.com` });
    expect((await runs.airtable_integration.result()).state.attributes).toEqual({
      baseId: "appSales2024",
      userId,
    });
    const workflow = await runs.workflow_execution.result();
    expect(workflow.state.attributes).toEqual({ workflowId: "wf-import", userId });
    expect(workflow.results.bulk_update_airtable_records).toMatchObject({ updated: 2 });
    // The bulk update sent the records the file step produced.
    const update = callsOf(runs.workflow_execution.sagaId).find(
      (c) => c.label === "bulk_update_airtable_records",
    )!;
    expect(update).toMatchObject({
      method: "PATCH",
      path: "/bases/appSales2024/tables/tblLeads/records",
    });
    expect((update.body as { records: unknown[] }).records).toHaveLength(2);
  });

  it.each([1, 2, 3, 4])(
    "user_onboarding failing at step %i compensates exactly the completed steps, in reverse, once each",
    async (n) => {
      const orch = await orchestrator();
      const userId = newId("u");
      const failed = ONBOARDING[n - 1]!;
      // Odd steps fail with a terminal 422 (one attempt); even ones with 503 until the retries run out.
      const terminal = n % 2 === 1;
      sim.fail({
        ...ONBOARDING_ROUTES[failed](userId),
        status: terminal ? 422 : 503,
        times: "always",
      });

      const run = await orch.start("user_onboarding", onboardingInput(userId));
      const result = await run.result();
      expect(result.status).toBe("compensated");
      expect(result.error?.code).toBe(terminal ? "SAGA_HTTP_4XX" : "SAGA_HTTP_5XX");

      const completed = ONBOARDING.slice(0, n - 1);
      const attempts = terminal ? 1 : 3;
      const undone = completed.filter((s) => COMPENSABLE.has(s)).reverse();
      const calls = callsOf(run.sagaId);
      expect(calls.map((c) => c.label)).toEqual([
        ...completed,
        ...Array<string>(attempts).fill(failed),
        ...undone.map((s) => `${s}:compensate`),
      ]);
      // Every attempt of the failed step sent the same key; its compensation was never called.
      expect(
        calls
          .filter((c) => c.label === failed)
          .every((c) => c.idempotencyKey === `${run.sagaId}:${failed}`),
      ).toBe(true);
      expect(calls.some((c) => c.label === `${failed}:compensate`)).toBe(false);
      for (const c of calls.filter((c) => c.label.endsWith(":compensate"))) {
        expect(c.idempotencyKey).toBe(`${run.sagaId}:${c.label}`);
        expect(c.method).toBe("DELETE");
        expect(c.status).toBe(204);
      }
      // Nothing the saga created is left (an email that went out stays sent).
      expect(sim.resources().users?.[userId]).toBeUndefined();
      expect(ownedBy("workspaces", "owner_id", userId)).toEqual([]);
      expect(ownedBy("bases", "owner_id", userId)).toEqual([]);
      for (const step of undone) expect(result.state.steps[step]?.status).toBe("compensated");
    },
  );

  it("retries reuse the Idempotency-Key, and a repeated key makes no second effect", async () => {
    const orch = await orchestrator();
    const userId = newId("u");
    // The user service is down twice; the permission service creates the workspace but its
    // answer is lost (500 after the effect).
    sim.fail({ ...ONBOARDING_ROUTES.create_user_profile(userId), status: 503, times: 2 });
    sim.fail({
      ...ONBOARDING_ROUTES.setup_default_workspace(userId),
      status: 500,
      times: 1,
      when: "after",
    });

    const run = await orch.start("user_onboarding", onboardingInput(userId));
    const result = await run.result();
    expect(result.status).toBe("completed");

    const calls = callsOf(run.sagaId);
    const profile = calls.filter((c) => c.label === "create_user_profile");
    expect(profile.map((c) => [c.idempotencyKey, c.status, c.effect])).toEqual([
      [`${run.sagaId}:create_user_profile`, 503, false],
      [`${run.sagaId}:create_user_profile`, 503, false],
      [`${run.sagaId}:create_user_profile`, 201, true],
    ]);
    const workspace = calls.filter((c) => c.label === "setup_default_workspace");
    expect(workspace.map((c) => [c.idempotencyKey, c.status, c.effect, c.replayed])).toEqual([
      [`${run.sagaId}:setup_default_workspace`, 500, true, false],
      [`${run.sagaId}:setup_default_workspace`, 201, false, true],
    ]);
    // One workspace, and it is the one the saga recorded.
    const workspaces = ownedBy("workspaces", "owner_id", userId);
    expect(workspaces).toHaveLength(1);
    expect(result.results.setup_default_workspace).toEqual({ workspace_id: workspaces[0]!.id });
    expect(result.state.steps.create_user_profile?.attempts).toBe(3);
    expect(result.state.steps.setup_default_workspace?.attempts).toBe(2);
  });

  it("the Airtable token reaches the connector but never the stored events, state, outbox or logs", async () => {
    const orch = await orchestrator();
    const userId = newId("u");
    // A careless connector echoes the request headers (the Authorization one included) in its error.
    sim.fail({
      ...ONBOARDING_ROUTES.create_sample_airtable_base(userId),
      status: 422,
      times: 1,
      echoRequest: true,
    });
    const failing = await orch.start("user_onboarding", onboardingInput(userId));
    const integration = await orch.start("airtable_integration", {
      user_id: userId,
      base_id: "appCanary",
    });
    expect((await failing.result()).status).toBe("compensated");
    expect((await integration.result()).status).toBe("completed");

    // The token went out (the connector answers 401 without it)…
    const echoed = callsOf(failing.sagaId).find((c) => c.label === "create_sample_airtable_base");
    expect(echoed?.status).toBe(422);
    expect(callsOf(integration.sagaId).every((c) => c.status < 300)).toBe(true);
    // …and came back in the echoed error, which was stored scrubbed.
    const stored = JSON.stringify(await orch.events(failing.sagaId));
    expect(stored).toContain("Bearer [redacted]");

    const sql = sqlClientOf(h.store)!;
    const rows = [
      ...(await sql.query<{ text: string }>("SELECT data::text AS text FROM saga_events")),
      ...(await sql.query<{ text: string }>("SELECT state::text AS text FROM saga_instances")),
      ...(await sql.query<{ text: string }>(
        "SELECT (data::text || headers::text) AS text FROM saga_outbox",
      )),
    ];
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.filter((r) => r.text.includes(CANARY))).toEqual([]);
    expect(logger.lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(logger.lines)).not.toContain(CANARY);
  });
});

describe("the downstream simulator's control API", () => {
  it("fails a route on request, answers a repeated Idempotency-Key once, keeps the ledger, resets", async () => {
    const own = await startDownstreamSimulator();
    try {
      const call = async (method: string, path: string, body?: unknown, key?: string) => {
        const response = await fetch(`${own.url}${path}`, {
          method,
          headers: {
            ...(body === undefined ? {} : { "content-type": "application/json" }),
            ...(key === undefined ? {} : { "idempotency-key": key, "x-correlation-id": "c-1" }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(5_000),
        });
        const text = await response.text();
        return {
          status: response.status,
          retryAfter: response.headers.get("retry-after"),
          body: (text ? JSON.parse(text) : null) as Record<string, unknown> | null,
        };
      };
      const invalid = await call("POST", "/_control/fail", { service: "billing", path: "x" });
      expect(invalid.status).toBe(400);
      expect(invalid.body).toMatchObject({
        error: { problems: [expect.stringMatching(/^service/), expect.stringMatching(/^path/)] },
      });
      const rule = { service: "user", method: "POST", path: "/users", status: 429, times: 1 };
      expect(await call("POST", "/_control/fail", { ...rule, retryAfterSeconds: 2 })).toMatchObject(
        {
          status: 201,
          body: { id: expect.any(String) },
        },
      );

      const user = { id: "u-9", email: "u9@example.com" };
      expect(await call("POST", "/user/users", user, "k-1")).toMatchObject({
        status: 429,
        retryAfter: "2",
      });
      const first = await call("POST", "/user/users", user, "k-1");
      expect(first.status).toBe(201);
      const again = await call("POST", "/user/users", user, "k-1");
      expect(again).toEqual(first); // the first answer, not a 409 for an existing user
      expect((await call("DELETE", "/user/users/u-9", undefined, "k-1")).status).toBe(422);
      expect((await call("POST", "/user/users", user, "k-2")).status).toBe(409); // a new key runs again: the user exists
      expect((await call("GET", "/nowhere/x")).status).toBe(404);

      const ledger = await call("GET", "/_control/ledger?key_prefix=k-1");
      expect(
        (ledger.body!.calls as LedgerEntry[]).map((c) => [
          c.status,
          c.effect,
          c.replayed,
          !!c.failedBy,
        ]),
      ).toEqual([
        [429, false, false, true],
        [201, true, false, false],
        [201, false, true, false],
        [422, false, false, false],
      ]);
      expect(own.ledger({ keyPrefix: "k-1" })[0]).toMatchObject({
        service: "user",
        method: "POST",
        path: "/users",
        route: "/users",
        idempotencyKey: "k-1",
        correlationId: "c-1",
        body: user,
      });
      expect(Object.keys((await call("GET", "/_control/resources")).body!.users as object)).toEqual(
        ["u-9"],
      );
      expect((await call("POST", "/_control/reset")).status).toBe(200);
      expect(own.ledger()).toEqual([]);
      expect(own.resources()).toEqual({});
    } finally {
      await own.close();
    }
  });
});

describe("npm run demo", () => {
  // Its own bound (120 s, below) must be the one that ends it: vitest's default of 60 s cut it
  // short on a loaded machine, where starting the service on embedded PGlite alone takes a while.
  it(
    "--once: starts the service and the simulator, runs the onboardings, one compensates, exits 0",
    {
      timeout: 150_000,
    },
    async () => {
      const child = spawn("npm", ["run", "--silent", "demo", "--", "--once"], {
        cwd: ROOT,
        env: childEnv(),
        stdio: ["ignore", "pipe", "pipe"],
        detached: true, // its own process group: npm, tsx and node are ended together
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
      child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
      let timer: NodeJS.Timeout | undefined;
      try {
        const code = await Promise.race([
          new Promise<number | null>((resolve) => child.once("close", resolve)),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`demo did not exit within 120 s\n${stdout}\n${stderr}`)),
              120_000,
            );
          }),
        ]);
        expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);
      } finally {
        clearTimeout(timer);
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // already gone
        }
      }
      const rows = stdout.split("\n").filter((l) => /^\s*[0-9a-f-]{36}\s/.test(l));
      const statuses = rows.map((l) => /\b(completed|compensated|failed|running)\b/.exec(l)?.[1]);
      expect(statuses.filter((s) => s === "compensated")).toHaveLength(1);
      expect(statuses.filter((s) => s === "completed").length).toBeGreaterThanOrEqual(2);
      expect(statuses.every((s) => s === "completed" || s === "compensated")).toBe(true);
      expect(stdout).toMatch(/http:\/\/127\.0\.0\.1:\d+\/docs/);
      expect(stdout).toMatch(/http:\/\/127\.0\.0\.1:\d+\/sagas\//);
      expect(stdout).toMatch(/http:\/\/127\.0\.0\.1:\d+\/metrics/);
    },
  );
});
