import { SagaError, TerminalError, toErrorInfo } from "../../core/errors.js";
import type { Json } from "../../core/json.js";
import { placeholders } from "../template.js";
import { HttpErrorCodes } from "./errors.js";

/** Looks a secret up by name (env, secrets file…); undefined/null when it is not set. */
export type SecretSource = (
  name: string,
) => string | undefined | null | Promise<string | undefined | null>;

export const REDACTED = "[redacted]";

/** The names of the secrets templates use (`{{secrets.NAME}}`), each once. */
export function secretNames(...templates: unknown[]): string[] {
  const names = new Set<string>();
  for (const p of placeholders(templates)) {
    if (p.root !== "secrets") continue;
    if (p.segments.length !== 2)
      throw new TerminalError(`{{${p.path}}}: a secret is referenced as secrets.NAME`, {
        code: HttpErrorCodes.HTTP_INVALID_REQUEST,
      });
    names.add(p.segments[1]!);
  }
  return [...names];
}

/** Resolves the named secrets, at dispatch time only. A missing one is a terminal error. */
export async function resolveSecrets(
  names: readonly string[],
  source: SecretSource,
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const name of names) {
    const value = await source(name);
    if (typeof value !== "string")
      throw new TerminalError(`secret ${name} is not set`, {
        code: HttpErrorCodes.HTTP_INVALID_REQUEST,
      });
    Object.defineProperty(values, name, { value, enumerable: true });
  }
  return values;
}

/** Replaces every secret value (raw, URL-encoded, JSON-escaped) with "[redacted]". */
export interface Scrubber {
  text(value: string): string;
  /** Also answers whether a string carries a secret. */
  carries(value: string): boolean;
  json(value: Json): Json;
  /** A copy of any thrown value as a `SagaError`/`TerminalError` with the same code and
   * retryability, scrubbed message and details, and no `cause` (which could hold a secret). */
  error(thrown: unknown): SagaError;
}

export function createScrubber(secrets: Iterable<string>): Scrubber {
  const variants = new Set<string>();
  for (const secret of secrets) {
    if (secret === "") continue;
    variants.add(secret);
    variants.add(encodeURIComponent(secret));
    variants.add(new URLSearchParams({ s: secret }).toString().slice(2));
    variants.add(JSON.stringify(secret).slice(1, -1));
  }
  const ordered = [...variants].sort((a, b) => b.length - a.length);
  const text = (value: string): string =>
    ordered.reduce((out, secret) => out.split(secret).join(REDACTED), value);
  const json = (value: Json): Json => {
    if (typeof value === "string") return text(value);
    if (Array.isArray(value)) return value.map(json);
    if (value === null || typeof value !== "object") return value;
    const out: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value))
      Object.defineProperty(out, text(key), {
        value: json(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  };
  return {
    text,
    json,
    carries: (value) => ordered.some((secret) => value.includes(secret)),
    error(thrown) {
      const info = toErrorInfo(thrown);
      const message = text(info.message);
      const details = info.details === undefined ? undefined : json(info.details);
      return info.retryable
        ? new SagaError(info.code, message, { details })
        : new TerminalError(message, { code: info.code, details });
    },
  };
}
