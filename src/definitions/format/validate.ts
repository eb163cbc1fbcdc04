import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { httpStepSpecProblems } from "../../steps/http/spec.js";
import type { TemplateError } from "../../steps/template.js";
import { placeholders, type TemplateRoot } from "../../steps/template.js";
import { durationProblems } from "./duration-problems.js";
import { ParallelStepSchema, SagaDocumentSchema, StepSchemas } from "./schema.js";

const KINDS = Object.keys(StepSchemas) as (keyof typeof StepSchemas)[];

export interface ValidateOptions {
  /** Saga types a `saga` step may start (besides this one). */
  knownSaga: (name: string) => boolean;
  /** Child saga types of a known saga (for cycle detection). */
  childrenOf: (name: string) => readonly string[];
}

type Doc = Record<string, unknown>;
const isObject = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every problem of a definition document, as `$.json.path: what is wrong`. Empty: valid. */
export function definitionProblems(doc: unknown, options: ValidateOptions): string[] {
  if (!isObject(doc)) return ["$: a saga definition must be a JSON object"];
  const problems: string[] = [];
  const steps = Array.isArray(doc.steps) ? doc.steps : [];
  // Top level without the steps (checked one by one below, for precise messages).
  problems.push(
    ...schemaProblems(
      SagaDocumentSchema,
      { ...doc, steps: steps.length > 0 ? [] : doc.steps },
      "$",
    ).filter((p) => !p.startsWith("$.steps:")),
  );
  if (!Array.isArray(doc.steps) || steps.length === 0)
    problems.push("$.steps: a saga needs at least one step");
  problems.push(...durationProblems(doc, "$"));

  const seen = new Set<string>();
  const earlier = new Set<string>();
  const children: string[] = [];
  const checkName = (name: unknown, path: string) => {
    if (typeof name !== "string") return;
    if (seen.has(name)) problems.push(`${path}.name: duplicate step name "${name}"`);
    seen.add(name);
  };
  steps.forEach((step, i) => {
    const path = `$.steps[${i}]`;
    if (isObject(step) && "parallel" in step) {
      problems.push(
        ...schemaProblems(ParallelStepSchema, { ...step, parallel: [] }, path).filter(
          (p) => !p.includes(".parallel"),
        ),
      );
      checkName(step.name, path);
      const branches = Array.isArray(step.parallel) ? step.parallel : [];
      if (branches.length === 0) problems.push(`${path}.parallel: needs at least one branch`);
      const before = new Set(earlier);
      branches.forEach((b, j) => {
        problems.push(...leafProblems(b, `${path}.parallel[${j}]`, before, children));
        if (isObject(b)) checkName(b.name, `${path}.parallel[${j}]`);
      });
      for (const b of branches) if (isObject(b) && typeof b.name === "string") earlier.add(b.name);
      return;
    }
    problems.push(...leafProblems(step, path, earlier, children));
    if (isObject(step)) {
      checkName(step.name, path);
      if (typeof step.name === "string") earlier.add(step.name);
    }
  });

  // Templates outside steps.
  problems.push(...templateProblems(doc.attributes, "$.attributes", ["input"], new Set()));
  (Array.isArray(doc.triggers) ? doc.triggers : []).forEach((t, i) => {
    if (isObject(t))
      problems.push(...templateProblems(t.input, `$.triggers[${i}].input`, ["event"], new Set()));
  });

  // Child sagas: known, and no cycle back to this saga.
  const self = typeof doc.name === "string" ? doc.name : "";
  for (const child of new Set(children)) {
    if (child !== self && !options.knownSaga(child))
      problems.push(`$.steps: child saga "${child}" is not a known saga type`);
    const cycle = findCycle(self, child, options.childrenOf);
    if (cycle) problems.push(`$.steps: child sagas form a cycle: ${[self, ...cycle].join(" -> ")}`);
  }
  return problems;
}

function leafProblems(
  step: unknown,
  path: string,
  earlier: ReadonlySet<string>,
  children: string[],
): string[] {
  if (!isObject(step)) return [`${path}: a step must be an object`];
  const kind = step.kind ?? "http";
  if (typeof kind !== "string" || !KINDS.includes(kind as (typeof KINDS)[number])) {
    return [
      `${path}.kind: unknown step kind ${JSON.stringify(kind)} (use ${KINDS.join(", ")}, or parallel)`,
    ];
  }
  const problems: string[] = [];
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
  problems.push(...durationProblems(step, path));
  const name = typeof step.name === "string" ? step.name : "";
  const rootsOf = (extra: TemplateRoot[]): TemplateRoot[] => ["input", "results", "saga", ...extra];
  if (kind === "http" && isObject(step.request)) {
    const { result, ...request } = step.request;
    problems.push(
      ...httpStepSpecProblems(step.request, `${path}.request`).filter((p) => !problems.includes(p)),
    );
    problems.push(...templateProblems(request, `${path}.request`, rootsOf(["secrets"]), earlier));
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
      ...templateProblems(request, `${path}.compensation.request`, rootsOf(["secrets"]), withSelf),
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
): string[] {
  const problems: string[] = [];
  let found;
  try {
    found = placeholders(template);
  } catch (error) {
    return [`${path}: ${(error as TemplateError).message}`];
  }
  for (const p of found) {
    if (!roots.includes(p.root)) {
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

function findCycle(
  self: string,
  start: string,
  childrenOf: (name: string) => readonly string[],
): string[] | null {
  const stack: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string): string[] | null => {
    stack.push(name);
    if (name === self) return [...stack];
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
