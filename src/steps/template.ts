import { ErrorCodes, SagaError } from "../core/errors.js";
import type { Json } from "../core/json.js";

/**
 * The template language of declarative sagas — small on purpose, no `eval`:
 * - `"{{ input.user.id }}"` — a string that is one placeholder keeps the value's JSON type;
 * - `"users/{{ input.id }}?x={{results.a.n}}"` — placeholders inside text are interpolated
 *   (objects as JSON);
 * - `{{ path ?? <JSON literal> }}` — a default when the path is missing or null;
 * - paths: dot-separated names and array indexes (`results.fetch.items.0.id`), rooted at
 *   `input`, `results`, `event`, `saga`, `response` (result mappings) or `secrets`.
 * A missing path without default is an error naming the path.
 */
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const WHOLE = /^\{\{\s*([^{}]*?)\s*\}\}$/;
const PATH = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

export const TEMPLATE_ROOTS = ["input", "results", "event", "saga", "response", "secrets"] as const;
export type TemplateRoot = (typeof TEMPLATE_ROOTS)[number];

export class TemplateError extends SagaError {
  override readonly name = "TemplateError";
  constructor(message: string) {
    super(ErrorCodes.INVALID_INPUT, message, { retryable: false });
  }
}

export interface Placeholder {
  path: string;
  root: string;
  segments: string[];
  fallback: Json | undefined;
}

/** Parses one placeholder body (`path` or `path ?? literal`). */
export function parsePlaceholder(body: string): Placeholder {
  const at = body.indexOf("??");
  const path = (at === -1 ? body : body.slice(0, at)).trim();
  let fallback: Json | undefined;
  if (at !== -1) {
    const literal = body.slice(at + 2).trim();
    try {
      fallback = JSON.parse(literal) as Json;
    } catch {
      throw new TemplateError(`the default of {{${body}}} must be a JSON literal (got ${literal})`);
    }
  }
  if (!PATH.test(path)) throw new TemplateError(`{{${body}}} is not a path like input.user.id`);
  const segments = path.split(".");
  return { path, root: segments[0]!, segments, fallback };
}

/** Every placeholder in a template (for validation before anything runs). */
export function placeholders(template: unknown): Placeholder[] {
  const found: Placeholder[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === "string")
      for (const m of value.matchAll(PLACEHOLDER)) found.push(parsePlaceholder(m[1]!));
    else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === "object") Object.values(value).forEach(visit);
  };
  visit(template);
  return found;
}

function lookup(context: Readonly<Record<string, unknown>>, p: Placeholder): Json {
  let value: unknown = context;
  for (const segment of p.segments) {
    if (
      value === null ||
      typeof value !== "object" ||
      !Object.prototype.hasOwnProperty.call(value, segment)
    ) {
      value = undefined;
      break;
    }
    value = (value as Record<string, unknown>)[segment];
  }
  if (value === undefined || value === null) {
    if (p.fallback !== undefined) return p.fallback;
    if (value === null) return null;
    throw new TemplateError(`template path ${p.path} is missing`);
  }
  return value as Json;
}

/** Renders a template (any JSON) against a context. */
export function render(template: Json, context: Readonly<Record<string, unknown>>): Json {
  if (typeof template === "string") {
    const whole = WHOLE.exec(template);
    if (whole) return lookup(context, parsePlaceholder(whole[1]!));
    return template.replace(PLACEHOLDER, (_m, body: string) => {
      const value = lookup(context, parsePlaceholder(body));
      return typeof value === "string" ? value : JSON.stringify(value);
    });
  }
  if (Array.isArray(template)) return template.map((t) => render(t, context));
  if (template !== null && typeof template === "object") {
    const out: Record<string, Json> = {};
    for (const [key, value] of Object.entries(template)) {
      Object.defineProperty(out, key, {
        value: render(value, context),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return template;
}
