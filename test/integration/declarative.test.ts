import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SagaError } from "../../src/core/errors.js";
import { ErrorCodes } from "../../src/core/errors.js";
import { compileDefinition, type CompileOptions } from "../../src/definitions/format/compile.js";
import { createSsrfGuard } from "../../src/steps/http/ssrf-guard.js";
import { engineHarness } from "../helpers/engine.js";
import { waitUntil } from "../helpers/time.js";
import { storeKinds } from "../helpers/stores.js";

let server: Server;
let base = "";
const ledger: { method: string; url: string; key: string | undefined; body: string }[] = [];
let failPath: string | null = null;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      ledger.push({
        method: req.method ?? "",
        url: req.url ?? "",
        key: req.headers["idempotency-key"] as string | undefined,
        body,
      });
      if (failPath && req.url?.startsWith(failPath)) {
        res
          .writeHead(422, { "content-type": "application/json" })
          .end(JSON.stringify({ error: "refused" }));
        return;
      }
      res.writeHead(201, { "content-type": "application/json" }).end(
        JSON.stringify({
          id: `id-${ledger.length}`,
          echo: body ? (JSON.parse(body) as unknown) : null,
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const options = (known: Record<string, string[]> = {}): CompileOptions => ({
  http: {
    serviceUrls: { user: base, notification: base },
    secrets: (name) => (name === "USER_TOKEN" ? "s3cret-canary-token" : undefined),
    transport: { guard: createSsrfGuard({ serviceUrls: [base] }) },
  },
  knownSaga: (name) => name in known,
  childrenOf: (name) => known[name] ?? [],
  // These definitions stand for the platform's own (they use a platform secret).
  platform: true,
});

describe("declarative definitions: validation", () => {
  it("lists every problem with its JSON path", () => {
    const bad = {
      name: "bad",
      version: 1,
      steps: [
        { name: "a", kind: "ftp" },
        { name: "b", request: { service: "user", method: "POST", path: "/x" } },
        {
          name: "c",
          request: { service: "user", path: "/u/{{results.later.id}}" },
          compensation: "none",
        },
        {
          name: "c",
          kind: "publish",
          event: { type: "t", data: { leak: "{{secrets.USER_TOKEN}}" } },
        },
        { name: "child", kind: "saga", saga: "ghost" },
        { name: "later", kind: "sleep", seconds: 1 },
      ],
    };
    let error: SagaError | undefined;
    try {
      compileDefinition(bad, options());
    } catch (e) {
      error = e as SagaError;
    }
    expect(error?.code).toBe(ErrorCodes.SAGA_INVALID_DEFINITION);
    const problems = (error?.details as { path: string; code: string; message: string }[]).map(
      (p) => `${p.path}: ${p.message}`,
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\$\.steps\[0\]\.kind: unknown step kind "ftp"/),
        expect.stringMatching(/^\$\.steps\[1\]\.compensation: an http step needs a compensation/),
        expect.stringMatching(
          /^\$\.steps\[2\]\.request: \{\{results\.later\.id\}\} names step "later", which does not run before/,
        ),
        expect.stringMatching(/^\$\.steps\[3\]\.name: duplicate step name "c"/),
        expect.stringMatching(
          /^\$\.steps\[3\]\.event: \{\{secrets\.USER_TOKEN\}\} cannot be used here/,
        ),
        expect.stringMatching(/child saga "ghost" is not a known saga type/),
      ]),
    );
  });

  it("refuses a cycle of child sagas", () => {
    const doc = { name: "a", version: 1, steps: [{ name: "run_b", kind: "saga", saga: "b" }] };
    expect(() => compileDefinition(doc, options({ b: ["c"], c: ["a"] }))).toThrow(
      /cycle: a -> b -> c -> a/,
    );
  });
});

describe.each(storeKinds())("declarative sagas run on the engine: $name", (kind) => {
  const h = engineHarness(kind);

  it("runs http, publish, sleep, when and a child saga; a 4xx compensates what completed, once each", async () => {
    const child = compileDefinition(
      {
        name: "child_saga",
        version: 1,
        steps: [
          {
            name: "touch",
            request: {
              service: "notification",
              method: "POST",
              path: "/touch",
              body: { user: "{{input.user_id}}" },
            },
            compensation: {
              request: {
                service: "notification",
                method: "DELETE",
                path: "/touch/{{input.user_id}}",
              },
            },
          },
        ],
      },
      options(),
    );
    const parent = compileDefinition(
      {
        name: "onboarding_like",
        version: 1,
        attributes: { userId: "{{input.user_id}}" },
        steps: [
          {
            name: "create_profile",
            request: {
              service: "user",
              method: "POST",
              path: "/users",
              headers: { authorization: "Bearer {{secrets.USER_TOKEN}}" },
              body: { id: "{{input.user_id}}" },
              result: { profile_id: "{{response.body.id}}" },
            },
            compensation: {
              request: {
                service: "user",
                method: "DELETE",
                path: "/users/{{results.create_profile.profile_id}}",
              },
            },
          },
          {
            name: "announce",
            kind: "publish",
            event: {
              type: "profile.created",
              key: "{{input.user_id}}",
              data: { id: "{{results.create_profile.profile_id}}" },
            },
          },
          { name: "breathe", kind: "sleep", seconds: 0.05 },
          {
            name: "vip",
            when: { path: "input.plan", equals: "vip" },
            request: { service: "user", method: "POST", path: "/gift" },
            compensation: "none",
          },
          {
            name: "integrate",
            kind: "saga",
            saga: "child_saga",
            input: { user_id: "{{input.user_id}}" },
          },
          {
            name: "welcome",
            request: {
              service: "notification",
              method: "POST",
              path: "/welcome",
              body: { to: "{{input.user_id}}" },
            },
            compensation: "none",
          },
        ],
      },
      options({ child_saga: [] }),
    );
    const orch = await h.orchestrator([parent, child]);

    ledger.length = 0;
    failPath = null;
    const ok = await orch.start("onboarding_like", { user_id: "u-1", plan: "free" });
    const done = await ok.result();
    expect(done.status).toBe("completed");
    expect(done.state.attributes).toEqual({ userId: "u-1" });
    expect(done.state.steps.vip?.status).toBe("skipped");
    expect(done.results.create_profile).toEqual({ profile_id: "id-1" });
    expect(done.results.integrate).toMatchObject({ status: "completed", sagaType: "child_saga" });
    expect(ledger.map((l) => `${l.method} ${l.url}`)).toEqual([
      "POST /users",
      "POST /touch",
      "POST /welcome",
    ]);
    expect(ledger[0]?.key).toBe(`${ok.sagaId}:create_profile`);
    expect(JSON.stringify(await orch.events(ok.sagaId))).not.toContain("s3cret-canary-token");

    ledger.length = 0;
    failPath = "/welcome";
    const bad = await orch.start("onboarding_like", { user_id: "u-2", plan: "vip" });
    const undone = await bad.result();
    expect(undone.status).toBe("compensated");
    expect(undone.error?.code).toBe("SAGA_HTTP_4XX");
    // Forward calls, then compensations in reverse completion order, each once.
    expect(ledger.map((l) => `${l.method} ${l.url}`)).toEqual([
      "POST /users",
      "POST /gift",
      "POST /touch",
      "POST /welcome",
      "DELETE /touch/u-2",
      "DELETE /users/id-1",
    ]);
    const childId = (undone.results.integrate as { sagaId: string }).sagaId;
    await waitUntil(
      "the child compensated",
      async () => (await orch.get(childId))?.status === "compensated",
    );
  });

  it("cancelling a parent while its child saga runs cancels the child, which compensates", async () => {
    const child = compileDefinition(
      {
        name: "slow_child",
        version: 1,
        steps: [
          {
            name: "touch",
            request: { service: "notification", method: "POST", path: "/child-touch" },
            compensation: {
              request: { service: "notification", method: "DELETE", path: "/child-touch" },
            },
          },
          { name: "nap", kind: "sleep", seconds: 600 },
        ],
      },
      options(),
    );
    const parent = compileDefinition(
      {
        name: "waits_for_child",
        version: 1,
        steps: [{ name: "run_child", kind: "saga", saga: "slow_child" }],
      },
      options({ slow_child: [] }),
    );
    const orch = await h.orchestrator([parent, child]);
    const run = await orch.start("waits_for_child", {});
    await waitUntil(
      "the parent suspended on its child",
      async () => (await orch.get(run.sagaId))?.steps.run_child?.status === "suspended",
    );
    await waitUntil("the child suspended in its nap", async () => {
      const page = await orch.list({ names: ["slow_child"] });
      return page.items.some(
        (c) => c.parent?.sagaId === run.sagaId && c.steps.nap?.status === "suspended",
      );
    });
    await orch.cancel(run.sagaId);
    const result = await run.result();
    expect(result.status).toBe("compensated");
    expect(result.reason).toBe("cancelled");
    const page = await orch.list({ names: ["slow_child"] });
    const theChild = page.items.find((c) => c.parent?.sagaId === run.sagaId)!;
    const childResult = await orch.handle(theChild.id).result();
    expect(childResult.status).toBe("compensated");
    expect(childResult.reason).toBe("cancelled");
  });
});
