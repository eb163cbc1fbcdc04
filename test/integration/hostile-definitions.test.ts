import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { ErrorCodes, SagaError } from "../../src/core/errors.js";
import { compileDefinition, type CompileOptions } from "../../src/definitions/format/compile.js";
import { DEFINITION_LIMITS, definitionIssues } from "../../src/definitions/format/validate.js";
import { createService, type Service } from "../../src/service.js";
import { createSsrfGuard } from "../../src/steps/http/ssrf-guard.js";
import { MAX_TEMPLATE_LENGTH, render, scanTemplate } from "../../src/steps/template.js";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";
import { freshSchema } from "../helpers/stores.js";

// Pathological templates and definitions: each is answered with a validation error carrying a
// code and a JSON path, in time linear in its size. The first cases are the ones the old
// template regex (/\{\{\s*([^{}]*?)\s*\}\}/) took cubic time on: 1,000 spaces after "{{" took it
// 2.7 s and 2,000 took 24 s on this machine, so 15,000 would take hours. No timing is asserted:
// the file has to finish within the normal test timeout, and the service must keep answering.

const SPACES = " ".repeat(15_000);
const options: CompileOptions = {
  http: {
    serviceUrls: { api: "http://127.0.0.1:9" },
    secrets: () => undefined,
    transport: { guard: createSsrfGuard({ serviceUrls: ["http://127.0.0.1:9"] }) },
  },
  knownSaga: (name) => name === "child",
  childrenOf: () => [],
};

const http = (name: string, request: object) => ({ name, request, compensation: "none" });
const doc = (steps: unknown[], extra: object = {}) => ({
  name: "hostile",
  version: 1,
  ...extra,
  steps,
});
const nested = (depth: number): unknown => {
  let value: unknown = "leaf";
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

const cases: [string, unknown, { code: string; path: string }][] = [
  [
    '"{{" and 15,000 spaces in a path',
    doc([http("a", { service: "api", path: `{{${SPACES}` })]),
    { code: ErrorCodes.SAGA_TEMPLATE_INVALID, path: "$.steps[0].request" },
  ],
  [
    '"{{" and 15,000 spaces then "}"',
    doc([http("a", { service: "api", body: { x: `{{${SPACES}}` } })]),
    { code: ErrorCodes.SAGA_TEMPLATE_INVALID, path: "$.steps[0].request" },
  ],
  [
    '"{{" and 15,000 tabs and newlines in a header',
    doc([http("a", { service: "api", headers: { X: `{{${"\t\n".repeat(7_000)}` } })]),
    { code: ErrorCodes.SAGA_TEMPLATE_INVALID, path: "$.steps[0].request" },
  ],
  [
    "8,000 openings",
    doc([http("a", { service: "api", path: "{{".repeat(8_000) })]),
    { code: ErrorCodes.SAGA_TEMPLATE_INVALID, path: "$.steps[0].request" },
  ],
  [
    "spaces around a path with no closing",
    doc([http("a", { service: "api", path: `{{${SPACES}input.a${SPACES.slice(0, 1_000)}` })]),
    { code: ErrorCodes.SAGA_TEMPLATE_INVALID, path: "$.steps[0].request" },
  ],
  [
    "a brace inside a placeholder",
    doc([http("a", { service: "api", path: '{{ input.a ?? {"x":1} }}' })]),
    { code: ErrorCodes.SAGA_TEMPLATE_INVALID, path: "$.steps[0].request" },
  ],
  [
    "a placeholder body of 2,000 characters",
    doc([http("a", { service: "api", path: `{{ input.${"a".repeat(2_000)} }}` })]),
    { code: ErrorCodes.SAGA_TEMPLATE_TOO_LONG, path: "$.steps[0].request" },
  ],
  [
    "a path of 5,000 segments",
    doc([http("a", { service: "api", path: `{{input${".a".repeat(400)}}}` })]),
    { code: ErrorCodes.SAGA_TEMPLATE_INVALID, path: "$.steps[0].request" },
  ],
  [
    `a template of ${MAX_TEMPLATE_LENGTH + 1} characters`,
    doc([http("a", { service: "api", body: "x".repeat(MAX_TEMPLATE_LENGTH + 1) })]),
    { code: ErrorCodes.SAGA_TEMPLATE_TOO_LONG, path: "$.steps[0].request" },
  ],
  [
    "a pathological when",
    doc([{ ...http("a", { service: "api" }), when: `{{${SPACES}` }]),
    { code: ErrorCodes.SAGA_TEMPLATE_INVALID, path: "$.steps[0].when" },
  ],
  [
    "a pathological trigger mapping",
    doc([http("a", { service: "api" })], { triggers: [{ event: "e", input: `{{${SPACES}` }] }),
    { code: ErrorCodes.SAGA_TEMPLATE_INVALID, path: "$.triggers[0].input" },
  ],
  [
    "a pathological attribute",
    doc([http("a", { service: "api" })], { attributes: { k: `{{${SPACES}` } }),
    { code: ErrorCodes.SAGA_TEMPLATE_INVALID, path: "$.attributes" },
  ],
  [
    `${DEFINITION_LIMITS.maxSteps + 1} steps`,
    doc(
      Array.from({ length: DEFINITION_LIMITS.maxSteps + 1 }, (_, i) =>
        http(`s${i}`, { service: "api" }),
      ),
    ),
    { code: ErrorCodes.SAGA_DEFINITION_TOO_MANY_STEPS, path: "$.steps" },
  ],
  [
    `${DEFINITION_LIMITS.maxParallelBranches + 1} parallel branches`,
    doc([
      {
        name: "p",
        parallel: Array.from({ length: DEFINITION_LIMITS.maxParallelBranches + 1 }, (_, i) =>
          http(`b${i}`, { service: "api" }),
        ),
      },
    ]),
    { code: ErrorCodes.SAGA_DEFINITION_TOO_MANY_BRANCHES, path: "$.steps[0].parallel" },
  ],
  [
    `${DEFINITION_LIMITS.maxChildSagas + 1} child sagas`,
    doc(
      Array.from({ length: DEFINITION_LIMITS.maxChildSagas + 1 }, (_, i) => ({
        name: `c${i}`,
        kind: "saga",
        saga: "child",
      })),
    ),
    { code: ErrorCodes.SAGA_DEFINITION_TOO_MANY_CHILDREN, path: "$.steps" },
  ],
  [
    "arrays nested 100,000 deep",
    doc([http("a", { service: "api", body: nested(100_000) })]),
    { code: ErrorCodes.SAGA_DEFINITION_TOO_DEEP, path: "$" },
  ],
  [
    "a document of 300 KiB",
    doc(
      Array.from({ length: 10 }, (_, i) =>
        http(`s${i}`, { service: "api", body: "z".repeat(30_000) }),
      ),
    ),
    { code: ErrorCodes.SAGA_DEFINITION_TOO_LARGE, path: "$" },
  ],
];

describe("hostile definitions are refused with a code and a JSON path", () => {
  it.each(cases)("%s", (_name, hostile, expected) => {
    const issues = definitionIssues(hostile, options);
    expect(issues).toEqual(expect.arrayContaining([expect.objectContaining(expected)]));
    let thrown: unknown;
    try {
      compileDefinition(hostile, options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SagaError);
    expect(thrown).toMatchObject({ code: ErrorCodes.SAGA_INVALID_DEFINITION });
    expect((thrown as SagaError).message.length).toBeLessThan(20_000);
  });

  it("child sagas nested deeper than the limit are refused", () => {
    const chain = (name: string) => {
      const n = Number(name.slice(1));
      return n < 50 ? [`c${n + 1}`] : [];
    };
    const issues = definitionIssues(doc([{ name: "x", kind: "saga", saga: "c0" }]), {
      ...options,
      knownSaga: () => true,
      childrenOf: chain,
    });
    expect(issues).toEqual([
      expect.objectContaining({
        code: ErrorCodes.SAGA_DEFINITION_TOO_MANY_CHILDREN,
        path: "$.steps",
      }),
    ]);
  });

  it("the scanner reads templates in one pass: text and placeholders, unclosed is an error", () => {
    expect(scanTemplate("a{{ input.x }}b{{results.s.id ?? 0}}")).toEqual([
      { text: "a" },
      {
        placeholder: {
          path: "input.x",
          root: "input",
          segments: ["input", "x"],
          fallback: undefined,
        },
      },
      { text: "b" },
      {
        placeholder: {
          path: "results.s.id",
          root: "results",
          segments: ["results", "s", "id"],
          fallback: 0,
        },
      },
    ]);
    expect(scanTemplate("no placeholder } { }}")).toEqual([{ text: "no placeholder } { }}" }]);
    expect(() => scanTemplate(`{{${SPACES}`)).toThrow(/never closed/);
    expect(render("{{ input.n }}", { input: { n: 7 } })).toBe(7);
    expect(render("n={{ input.n }}", { input: { n: 7 } })).toBe("n=7");
  });
});

describe("over the API, the service answers 400 and keeps serving", () => {
  const schema = freshSchema();
  let service: Service;
  let store: PostgresStore;
  beforeAll(async () => {
    store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
    service = await createService(
      loadConfig({ API_KEY: "admin-key-0123456789abcdef", SERVICE_API_URL: "http://127.0.0.1:9" }),
      { logger: false, store, builtinDefinitions: null, sagas: [] },
    );
  });
  afterAll(async () => {
    await service?.close();
    await store?.close();
  });

  it("each hostile document gets a 400 with the problem's code and path; health stays up", async () => {
    for (const [name, hostile, expected] of cases.filter(([n]) => !n.includes("nested"))) {
      const response = await service.app.inject({
        method: "POST",
        url: "/definitions",
        headers: { "x-api-key": "admin-key-0123456789abcdef" },
        payload: hostile as object,
      });
      expect(response.statusCode, name).toBe(400);
      expect(response.json(), name).toMatchObject({
        error: {
          code: ErrorCodes.SAGA_INVALID_DEFINITION,
          details: expect.arrayContaining([expect.objectContaining(expected)]) as unknown,
        },
      });
      const health = await service.app.inject({ url: "/health/live" });
      expect(health.statusCode).toBe(200);
    }
    const fine = await service.app.inject({
      method: "POST",
      url: "/definitions",
      headers: { "x-api-key": "admin-key-0123456789abcdef" },
      payload: doc([http("a", { service: "api", path: "/x/{{input.id}}" })]),
    });
    expect(fine.statusCode).toBe(201);
  });
});
