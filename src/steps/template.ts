import { ErrorCodes, SagaError } from "../core/errors.js";
import type { Json } from "../core/json.js";

/**
 * The template language of declarative sagas — small on purpose, no `eval`:
 * - `"{{ input.user.id }}"` — a string that is one placeholder keeps the value's JSON type;
 * - `"users/{{ input.id }}?x={{results.a.n}}"` — placeholders inside text are interpolated
 *   (objects as JSON);
 * - `{{ path ?? <JSON literal> }}` — a default when the path is missing or null;
 * - paths: dot-separated names and array indexes (`results.fetch.items.0.id`), rooted at
 *   `input`, `results`, `event`, `saga`, `response` (result mappings), `secrets` (platform
 *   secrets, platform definitions only) or `tenant_secrets` (the saga's tenant's secrets).
 * A missing path without default is an error naming the path.
 *
 * Templates are read by a hand-written scanner in one pass (no backtracking regex): the time to
 * read one is linear in its length, whatever it holds. `{{` opens a placeholder that the next
 * `}}` closes; a placeholder body holds no `{` or `}`, and an unclosed `{{` is an error.
 */
export const TEMPLATE_ROOTS = [
  "input",
  "results",
  "event",
  "saga",
  "response",
  "secrets",
  "tenant_secrets",
] as const;
export type TemplateRoot = (typeof TEMPLATE_ROOTS)[number];

/** Longest template string (characters) a definition may hold. */
export const MAX_TEMPLATE_LENGTH = 16_384;
/** Longest placeholder body (`{{ … }}`), default literal included. */
export const MAX_PLACEHOLDER_LENGTH = 1_024;
/** Most segments in one placeholder path. */
export const MAX_PATH_SEGMENTS = 32;

const PATH_SEGMENT = /^[A-Za-z0-9_-]+$/;
const FIRST_SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export class TemplateError extends SagaError {
  override readonly name = "TemplateError";
  constructor(message: string, code: string = ErrorCodes.SAGA_INVALID_INPUT) {
    super(code, message, { retryable: false });
  }
}

export interface Placeholder {
  path: string;
  root: string;
  segments: string[];
  fallback: Json | undefined;
}

/** A template string cut into literal text and placeholders, in order. */
export type TemplatePart = { text: string } | { placeholder: Placeholder };

const syntax = (message: string) => new TemplateError(message, ErrorCodes.SAGA_TEMPLATE_INVALID);
const shorten = (text: string) => (text.length > 60 ? `${text.slice(0, 60)}…` : text);

/** Parses one placeholder body (`path` or `path ?? literal`). */
export function parsePlaceholder(body: string): Placeholder {
  if (body.length > MAX_PLACEHOLDER_LENGTH)
    throw new TemplateError(
      `a placeholder is longer than ${MAX_PLACEHOLDER_LENGTH} characters`,
      ErrorCodes.SAGA_TEMPLATE_TOO_LONG,
    );
  const at = body.indexOf("??");
  const path = (at === -1 ? body : body.slice(0, at)).trim();
  let fallback: Json | undefined;
  if (at !== -1) {
    const literal = body.slice(at + 2).trim();
    try {
      fallback = JSON.parse(literal) as Json;
    } catch {
      throw syntax(
        `the default of {{${shorten(body)}}} must be a JSON literal (got ${shorten(literal)})`,
      );
    }
  }
  const segments = path.split(".");
  if (
    segments.length > MAX_PATH_SEGMENTS ||
    !FIRST_SEGMENT.test(segments[0]!) ||
    !segments.every((s) => PATH_SEGMENT.test(s))
  )
    throw syntax(`{{${shorten(body)}}} is not a path like input.user.id`);
  return { path, root: segments[0]!, segments, fallback };
}

/**
 * Cuts a template string into text and placeholders in one left-to-right pass. Throws a
 * TemplateError (SAGA_TEMPLATE_TOO_LONG, SAGA_TEMPLATE_INVALID) for a string longer than
 * MAX_TEMPLATE_LENGTH, an unclosed `{{`, or a placeholder body holding a brace.
 */
export function scanTemplate(template: string): TemplatePart[] {
  if (template.length > MAX_TEMPLATE_LENGTH)
    throw new TemplateError(
      `a template is ${template.length} characters long; at most ${MAX_TEMPLATE_LENGTH}`,
      ErrorCodes.SAGA_TEMPLATE_TOO_LONG,
    );
  const parts: TemplatePart[] = [];
  let from = 0;
  for (;;) {
    const open = template.indexOf("{{", from);
    if (open === -1) break;
    const close = template.indexOf("}}", open + 2);
    if (close === -1) throw syntax(`"{{" at character ${open} is never closed by "}}"`);
    const body = template.slice(open + 2, close);
    if (body.includes("{") || body.includes("}"))
      throw syntax(`the placeholder at character ${open} holds a brace`);
    if (open > from) parts.push({ text: template.slice(from, open) });
    parts.push({ placeholder: parsePlaceholder(body) });
    from = close + 2;
  }
  if (from < template.length) parts.push({ text: template.slice(from) });
  return parts;
}

/** Every placeholder in a template (for validation before anything runs). Iterative: the
 * nesting of `template` cannot drive it past the stack. */
export function placeholders(template: unknown): Placeholder[] {
  const found: Placeholder[] = [];
  const pending: unknown[] = [template];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === "string") {
      for (const part of scanTemplate(value))
        if ("placeholder" in part) found.push(part.placeholder);
    } else if (Array.isArray(value))
      for (let i = value.length - 1; i >= 0; i--) pending.push(value[i]);
    else if (value && typeof value === "object")
      pending.push(...(Object.values(value) as unknown[]).reverse());
  }
  return found;
}

/** The value a placeholder names in `context` (its default when missing or null). */
export function resolvePlaceholder(
  context: Readonly<Record<string, unknown>>,
  p: Placeholder,
): Json {
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

/** The text a value takes inside a string: strings as they are, anything else as JSON. */
export const asText = (value: Json): string =>
  typeof value === "string" ? value : JSON.stringify(value);

/**
 * Renders the parts of a template string: one placeholder alone keeps its value's type, else
 * each value goes through `encode` (default: as text) and the parts are joined.
 */
export function renderString(
  template: string,
  context: Readonly<Record<string, unknown>>,
  encode: (value: Json) => string = asText,
): Json {
  const parts = scanTemplate(template);
  if (parts.length === 1 && "placeholder" in parts[0]!)
    return resolvePlaceholder(context, parts[0].placeholder);
  let out = "";
  for (const part of parts)
    out += "text" in part ? part.text : encode(resolvePlaceholder(context, part.placeholder));
  return out;
}

/** Renders a template (any JSON) against a context. */
export function render(template: Json, context: Readonly<Record<string, unknown>>): Json {
  if (typeof template === "string") return renderString(template, context);
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
