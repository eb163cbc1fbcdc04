import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { ErrorCodes } from "../../core/errors.js";
import { SECRET_ROOTS } from "../../steps/http/secrets.js";
import { httpStepSpecProblems } from "../../steps/http/spec.js";
import { TemplateError, placeholders, type TemplateRoot } from "../../steps/template.js";
import { durationProblems } from "./duration-problems.js";
import { ParallelStepSchema, SagaDocumentSchema, StepSchemas } from "./schema.js";

const KINDS = Object.keys(StepSchemas) as (keyof typeof StepSchemas)[];

/** Limits of a definition document; each breach is a problem with its own code. */
export const DEFINITION_LIMITS = {
  /** Bytes of the document as JSON. */
  maxBytes: 262_144,
  /** Nesting of objects and arrays. */
  maxDepth: 32,
  /** Steps, each parallel branch counted. */
  maxSteps: 100,
  /** Branches of one parallel group. */
  maxParallelBranches: 32,
  /** `saga` steps (child sagas started) in one definition. */
  maxChildSagas: 32,
  /** Levels of child sagas below this one (a child of a child…). */
  maxChildDepth: 8,
} as const;

export interface ValidateOptions {
  /** Saga types a `saga` step may start (besides this one). */
  knownSaga: (name: string) => boolean;
  /** Child saga types of a known saga (for cycle detection). */
  childrenOf: (name: string) => readonly string[];
  /**
   * Whether the platform wrote the definition (built-in or loaded from the operator's folder):
   * only such definitions may use platform secrets, `{{secrets.NAME}}`. Default false.
   */
  platform?: boolean;
}

/** One problem of a definition: where (a JSON path from `$`), a stable code, and what is wrong. */
export interface DefinitionProblem {
  path: string;
  code: string;
  message: string;
}

type Doc = Record<string, unknown>;
const isObject = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);

/** Depth of nesting, without recursion (a hostile document cannot drive it past the stack). */
function depthExceeds(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (item === null || typeof item !== "object") continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

/** Every problem of a definition document, as `$.json.path: what is wrong`. Empty: valid. */
export function definitionProblems(doc: unknown, options: ValidateOptions): string[] {
  return definitionIssues(doc, options).map((p) => `${p.path}: ${p.message}`);
}

const GENERIC = ErrorCodes.SAGA_INVALID_DEFINITION;
/** `$.a.b: message` -> a problem with the generic code (or `code`). */
const fromText = (text: string, code: string = GENERIC): DefinitionProblem => {
  const at = text.indexOf(": ");
  return at === -1
    ? { path: "$", code, message: text }
    : { path: text.slice(0, at), code, message: text.slice(at + 2) };
};

/**
 * Every problem of a definition document, each with its JSON path and code: the limits first
 * (SAGA_DEFINITION_TOO_LARGE / _TOO_DEEP / _TOO_MANY_STEPS / _TOO_MANY_BRANCHES /
 * _TOO_MANY_CHILDREN), templates (SAGA_TEMPLATE_INVALID / _TOO_LONG), platform secrets in a
 * tenant's definition (SAGA_PLATFORM_SECRET_FORBIDDEN), everything else SAGA_INVALID_DEFINITION.
 * Empty: valid. Time and memory are linear in the document's size.
 */
export function definitionIssues(doc: unknown, options: ValidateOptions): DefinitionProblem[] {
  if (!isObject(doc))
    return [{ path: "$", code: GENERIC, message: "a saga definition must be a JSON object" }];
  if (depthExceeds(doc, DEFINITION_LIMITS.maxDepth))
    return [
      {
        path: "$",
        code: ErrorCodes.SAGA_DEFINITION_TOO_DEEP,
        message: `the document nests deeper than ${DEFINITION_LIMITS.maxDepth} levels`,
      },
    ];
  const bytes = Buffer.byteLength(JSON.stringify(doc) ?? "");
  if (bytes > DEFINITION_LIMITS.maxBytes)
    return [
      {
        path: "$",
        code: ErrorCodes.SAGA_DEFINITION_TOO_LARGE,
        message: `the document is ${bytes} bytes as JSON; at most ${DEFINITION_LIMITS.maxBytes}`,
      },
    ];
  const limits = limitProblems(doc);
  if (limits.length > 0) return limits;
  const problems: DefinitionProblem[] = [];
  const coded = (code: string) => (p: string | DefinitionProblem) =>
    typeof p === "string" ? fromText(p, code) : p;
  const add = (list: (string | DefinitionProblem)[]) => problems.push(...list.map(coded(GENERIC)));
  const steps = Array.isArray(doc.steps) ? doc.steps : [];
  // Top level without the steps (checked one by one below, for precise messages).
  add(
    schemaProblems(
      SagaDocumentSchema,
      { ...doc, steps: steps.length > 0 ? [] : doc.steps },
      "$",
    ).filter((p) => !p.startsWith("$.steps:")),
  );
  if (!Array.isArray(doc.steps) || steps.length === 0)
    add(["$.steps: a saga needs at least one step"]);
  problems.push(
    ...durationProblems(doc, "$").map((p) => fromText(p, ErrorCodes.SAGA_DURATION_TOO_LONG)),
  );

  const seen = new Set<string>();
  const earlier = new Set<string>();
  const children: string[] = [];
  const checkName = (name: unknown, path: string) => {
    if (typeof name !== "string") return;
    if (seen.has(name)) add([`${path}.name: duplicate step name "${name}"`]);
    seen.add(name);
  };
  steps.forEach((step, i) => {
    const path = `$.steps[${i}]`;
    if (isObject(step) && "parallel" in step) {
      add(
        schemaProblems(ParallelStepSchema, { ...step, parallel: [] }, path).filter(
          (p) => !p.includes(".parallel"),
        ),
      );
      checkName(step.name, path);
      const branches = Array.isArray(step.parallel) ? step.parallel : [];
      if (branches.length === 0) add([`${path}.parallel: needs at least one branch`]);
      const before = new Set(earlier);
      branches.forEach((b, j) => {
        add(leafProblems(b, `${path}.parallel[${j}]`, before, children, options));
        if (isObject(b)) checkName(b.name, `${path}.parallel[${j}]`);
      });
      for (const b of branches) if (isObject(b) && typeof b.name === "string") earlier.add(b.name);
      return;
    }
    add(leafProblems(step, path, earlier, children, options));
    if (isObject(step)) {
      checkName(step.name, path);
      if (typeof step.name === "string") earlier.add(step.name);
    }
  });

  // Templates outside steps.
  add(templateProblems(doc.attributes, "$.attributes", ["input"], new Set()));
  (Array.isArray(doc.triggers) ? doc.triggers : []).forEach((t, i) => {
    if (isObject(t)) add(templateProblems(t.input, `$.triggers[${i}].input`, ["event"], new Set()));
  });

  // Child sagas: known, and no cycle back to this saga.
  const self = typeof doc.name === "string" ? doc.name : "";
  for (const child of new Set(children)) {
    if (child !== self && !options.knownSaga(child))
      add([`$.steps: child saga "${child}" is not a known saga type`]);
    const found = findCycle(self, child, options.childrenOf, DEFINITION_LIMITS.maxChildDepth);
    if (found === "too deep")
      problems.push({
        path: "$.steps",
        code: ErrorCodes.SAGA_DEFINITION_TOO_MANY_CHILDREN,
        message: `child saga "${child}" starts sagas more than ${DEFINITION_LIMITS.maxChildDepth} levels deep`,
      });
    else if (found) add([`$.steps: child sagas form a cycle: ${[self, ...found].join(" -> ")}`]);
  }
  return problems;
}

/** Counts of steps, branches and child sagas against DEFINITION_LIMITS. */
function limitProblems(doc: Doc): DefinitionProblem[] {
  if (!Array.isArray(doc.steps)) return [];
  const problems: DefinitionProblem[] = [];
  let leaves = 0;
  let sagaSteps = 0;
  const countLeaf = (leaf: unknown) => {
    leaves++;
    if (isObject(leaf) && leaf.kind === "saga") sagaSteps++;
  };
  doc.steps.forEach((step: unknown, i) => {
    if (isObject(step) && Array.isArray(step.parallel)) {
      if (step.parallel.length > DEFINITION_LIMITS.maxParallelBranches)
        problems.push({
          path: `$.steps[${i}].parallel`,
          code: ErrorCodes.SAGA_DEFINITION_TOO_MANY_BRANCHES,
          message: `${step.parallel.length} branches; at most ${DEFINITION_LIMITS.maxParallelBranches}`,
        });
      step.parallel.forEach(countLeaf);
    } else countLeaf(step);
  });
  if (leaves > DEFINITION_LIMITS.maxSteps)
    problems.push({
      path: "$.steps",
      code: ErrorCodes.SAGA_DEFINITION_TOO_MANY_STEPS,
      message: `${leaves} steps (parallel branches counted); at most ${DEFINITION_LIMITS.maxSteps}`,
    });
  if (sagaSteps > DEFINITION_LIMITS.maxChildSagas)
    problems.push({
      path: "$.steps",
      code: ErrorCodes.SAGA_DEFINITION_TOO_MANY_CHILDREN,
      message: `${sagaSteps} child saga steps; at most ${DEFINITION_LIMITS.maxChildSagas}`,
    });
  return problems;
}

function leafProblems(
  step: unknown,
  path: string,
  earlier: ReadonlySet<string>,
  children: string[],
  options: ValidateOptions,
): (string | DefinitionProblem)[] {
  if (!isObject(step)) return [`${path}: a step must be an object`];
  const kind = step.kind ?? "http";
  if (typeof kind !== "string" || !KINDS.includes(kind as (typeof KINDS)[number])) {
    return [
      `${path}.kind: unknown step kind ${JSON.stringify(kind)} (use ${KINDS.join(", ")}, or parallel)`,
    ];
  }
  const problems: (string | DefinitionProblem)[] = [];
  const secretRoots: TemplateRoot[] = options.platform
    ? [SECRET_ROOTS.platform, SECRET_ROOTS.tenant]
    : [SECRET_ROOTS.tenant];
  if (kind === "http" && !("compensation" in step)) {
    problems.push(
      `${path}.compensation: an http step needs a compensation request, or "none" to declare it has none`,
    );
  }
  problems.push(
    ...schemaProblems(StepSchemas[kind as keyof typeof StepSchemas], step, path).filter(
      (p) =>
        !(kind === "http" && p.startsWith(`${path}.compensation:`) && !("compensation" in step)),
    ),
  );
  problems.push(
    ...durationProblems(step, path).map((p) => fromText(p, ErrorCodes.SAGA_DURATION_TOO_LONG)),
  );
  const name = typeof step.name === "string" ? step.name : "";
  const rootsOf = (extra: TemplateRoot[]): TemplateRoot[] => ["input", "results", "saga", ...extra];
  if (kind === "http" && isObject(step.request)) {
    const { result, ...request } = step.request;
    problems.push(
      ...httpStepSpecProblems(step.request, `${path}.request`).filter((p) => !problems.includes(p)),
    );
    problems.push(...templateProblems(request, `${path}.request`, rootsOf(secretRoots), earlier));
    problems.push(
      ...templateProblems(result, `${path}.request.result`, rootsOf(["response"]), earlier),
    );
  }
  if (kind === "http" && isObject(step.compensation) && isObject(step.compensation.request)) {
    const withSelf = new Set([...earlier, name]);
    const { result, ...request } = step.compensation.request;
    problems.push(
      ...httpStepSpecProblems(step.compensation.request, `${path}.compensation.request`),
    );
    problems.push(
      ...templateProblems(request, `${path}.compensation.request`, rootsOf(secretRoots), withSelf),
    );
    problems.push(
      ...templateProblems(
        result,
        `${path}.compensation.request.result`,
        rootsOf(["response"]),
        withSelf,
      ),
    );
  }
  if (kind === "publish")
    problems.push(...templateProblems(step.event, `${path}.event`, rootsOf([]), earlier));
  if (kind === "wait")
    problems.push(...templateProblems(step.match, `${path}.match`, rootsOf([]), earlier));
  if (kind === "saga") {
    problems.push(...templateProblems(step.input, `${path}.input`, rootsOf([]), earlier));
    if (typeof step.saga === "string") children.push(step.saga);
  }
  const when = step.when;
  if (typeof when === "string")
    problems.push(...templateProblems(when, `${path}.when`, rootsOf([]), earlier));
  else if (isObject(when) && typeof when.path === "string")
    problems.push(
      ...templateProblems(`{{${when.path}}}`, `${path}.when.path`, rootsOf([]), earlier),
    );
  return problems;
}

function templateProblems(
  template: unknown,
  path: string,
  roots: readonly string[],
  earlier: ReadonlySet<string>,
): (string | DefinitionProblem)[] {
  const problems: (string | DefinitionProblem)[] = [];
  let found;
  try {
    found = placeholders(template);
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    return [{ path, code: error.code, message: error.message }];
  }
  for (const p of found) {
    if (
      p.root === SECRET_ROOTS.platform &&
      roots.includes(SECRET_ROOTS.tenant) &&
      !roots.includes(SECRET_ROOTS.platform)
    ) {
      problems.push({
        path,
        code: ErrorCodes.SAGA_PLATFORM_SECRET_FORBIDDEN,
        message: `{{${p.path}}} is a platform secret, which only built-in and operator-loaded definitions may use; store the value as a tenant secret (PUT /secrets/NAME) and use {{tenant_secrets.NAME}}`,
      });
    } else if (!roots.includes(p.root)) {
      problems.push(`${path}: {{${p.path}}} cannot be used here (allowed: ${roots.join(", ")})`);
    } else if (p.root === "results") {
      const step = p.segments[1];
      if (!step) problems.push(`${path}: {{${p.path}}} must name a step (results.<step>…)`);
      else if (!earlier.has(step))
        problems.push(
          `${path}: {{${p.path}}} names step "${step}", which does not run before this point`,
        );
    }
  }
  return problems;
}

function schemaProblems(schema: TSchema, value: unknown, base: string): string[] {
  return [...Value.Errors(schema, value)].map(
    (e) => `${base}${pointerToPath(e.path)}: ${e.message}`,
  );
}

function pointerToPath(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s.replace(/~1/g, "/").replace(/~0/g, "~")}`))
    .join("");
}

/** A path from `start` back to `self` through child sagas, "too deep" past `maxDepth` levels. */
function findCycle(
  self: string,
  start: string,
  childrenOf: (name: string) => readonly string[],
  maxDepth: number,
): string[] | "too deep" | null {
  const stack: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string): string[] | "too deep" | null => {
    stack.push(name);
    if (name === self) return [...stack];
    if (stack.length > maxDepth) return "too deep";
    if (visiting.has(name)) {
      stack.pop();
      return null;
    }
    visiting.add(name);
    for (const child of childrenOf(name)) {
      const found = visit(child);
      if (found) return found;
    }
    stack.pop();
    return null;
  };
  return visit(start);
}
