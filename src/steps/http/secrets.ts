import { ErrorCodes, SagaError, TerminalError, toErrorInfo } from "../../core/errors.js";
import type { Json } from "../../core/json.js";
import { placeholders } from "../template.js";

/** Looks a platform secret up by name (secrets file or folder); undefined/null when it is not set. */
export type SecretSource = (
  name: string,
) => string | undefined | null | Promise<string | undefined | null>;

/** Looks a tenant's secret up by tenant and name; undefined/null when it is not set. */
export type TenantSecretSource = (
  tenantId: string,
  name: string,
) => string | undefined | null | Promise<string | undefined | null>;

export const REDACTED = "[redacted]";
/** No run of this many characters of a secret (in any encoding below) survives scrubbing. */
export const MIN_FRAGMENT = 6;

/** The roots that name secrets: platform secrets and the saga's tenant's secrets. */
export const SECRET_ROOTS = { platform: "secrets", tenant: "tenant_secrets" } as const;

/** The names of the secrets templates use under `root` (`{{secrets.NAME}}`), each once. */
export function secretNames(
  root: (typeof SECRET_ROOTS)[keyof typeof SECRET_ROOTS],
  ...templates: unknown[]
): string[] {
  const names = new Set<string>();
  for (const p of placeholders(templates)) {
    if (p.root !== root) continue;
    if (p.segments.length !== 2)
      throw new TerminalError(`{{${p.path}}}: a secret is referenced as ${root}.NAME`, {
        code: ErrorCodes.SAGA_HTTP_INVALID_REQUEST,
      });
    names.add(p.segments[1]!);
  }
  return [...names];
}

/** Whether a template uses any secret (platform or tenant). */
export const usesSecrets = (template: unknown): boolean =>
  placeholders(template).some(
    (p) => p.root === SECRET_ROOTS.platform || p.root === SECRET_ROOTS.tenant,
  );

/** Resolves the named secrets, at dispatch time only. A missing one is a terminal error. */
export async function resolveSecrets(
  names: readonly string[],
  source: (name: string) => string | undefined | null | Promise<string | undefined | null>,
  kind = "secret",
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const name of names) {
    const value = await source(name);
    if (typeof value !== "string")
      throw new TerminalError(`${kind} ${name} is not set`, {
        code: ErrorCodes.SAGA_HTTP_INVALID_REQUEST,
      });
    Object.defineProperty(values, name, { value, enumerable: true });
  }
  return values;
}

/** A platform secret named by a tenant's definition: refused at registration and at dispatch. */
export function platformSecretForbidden(names: readonly string[]): TerminalError {
  return new TerminalError(
    `a tenant's definition cannot use platform secrets (${names.join(", ")}); store the value as a tenant secret (PUT /secrets/NAME) and use {{tenant_secrets.NAME}}`,
    { code: ErrorCodes.SAGA_PLATFORM_SECRET_FORBIDDEN },
  );
}

/**
 * Removes secrets from everything a step returns or throws: every run of MIN_FRAGMENT or more
 * characters of a secret — raw, URL-encoded, form-encoded, JSON-escaped (once or twice), base64
 * and base64url (at each of the three byte alignments), hex — becomes "[redacted]". A secret
 * shorter than MIN_FRAGMENT is removed where it appears whole.
 */
export interface Scrubber {
  text(value: string): string;
  /** Also answers whether a string carries a secret (or a fragment of one). */
  carries(value: string): boolean;
  json(value: Json): Json;
  /** A copy of any thrown value as a `SagaError`/`TerminalError` with the same code and
   * retryability, scrubbed message and details, and no `cause` (which could hold a secret). */
  error(thrown: unknown): SagaError;
}

/**
 * The forms a secret may take in a body, a URL, a header or a log line, each with the number of
 * its characters that carry MIN_FRAGMENT characters of the secret (hex: 2 per byte, `\uXXXX`: 6
 * per character), so that a fragment means as much of the secret in every form.
 */
export function encodedForms(secret: string): { form: string; fragment: number }[] {
  const bytes = Buffer.from(secret, "utf8");
  const forms = new Map<string, number>();
  const add = (form: string, fragment = MIN_FRAGMENT) => {
    if (form.length > 0 && !forms.has(form)) forms.set(form, fragment);
  };
  add(secret);
  add(encodeURIComponent(secret));
  add(encodeURI(secret));
  add(new URLSearchParams({ s: secret }).toString().slice(2));
  add(JSON.stringify(secret).slice(1, -1));
  add(JSON.stringify(JSON.stringify(secret).slice(1, -1)).slice(1, -1));
  add(bytes.toString("hex"), 2 * MIN_FRAGMENT);
  add(bytes.toString("hex").toUpperCase(), 2 * MIN_FRAGMENT);
  const escaped = secret
    .split("")
    .map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    .join("");
  add(escaped, 6 * MIN_FRAGMENT);
  add(escaped.toUpperCase().replace(/\\U/g, "\\u"), 6 * MIN_FRAGMENT);
  for (let shift = 0; shift < 3; shift++) {
    const shifted = Buffer.concat([Buffer.alloc(shift), bytes]);
    // Characters that also carry bits of the (unknown) bytes around the secret are left out.
    const head = [0, 2, 3][shift]!;
    const tail = (shift + bytes.length) % 3 === 0 ? 0 : 1;
    for (const encoding of ["base64", "base64url"] as const) {
      const text = shifted.toString(encoding).replace(/=+$/, "");
      add(text.slice(head, text.length - tail));
    }
  }
  return [...forms].map(([form, fragment]) => ({ form, fragment }));
}

export function createScrubber(secrets: Iterable<string>): Scrubber {
  /** Fragment length -> every fragment of that length of every form. */
  const grams = new Map<number, Set<string>>();
  const short: string[] = [];
  for (const secret of secrets) {
    if (secret === "") continue;
    for (const { form, fragment } of encodedForms(secret)) {
      if (form.length < fragment) {
        short.push(form);
        continue;
      }
      let set = grams.get(fragment);
      if (!set) grams.set(fragment, (set = new Set()));
      for (let i = 0; i + fragment <= form.length; i++) set.add(form.slice(i, i + fragment));
    }
  }
  short.sort((a, b) => b.length - a.length);
  const none = grams.size === 0 && short.length === 0;

  /** Marks every character covered by a fragment, then writes each marked run as REDACTED. */
  const text = (value: string): string => {
    if (none) return value;
    let out = value;
    if (grams.size > 0 && out.length >= MIN_FRAGMENT) {
      const marked = new Uint8Array(out.length);
      let any = false;
      for (const [length, set] of grams)
        for (let i = 0; i + length <= out.length; i++) {
          if (set.has(out.slice(i, i + length))) {
            marked.fill(1, i, i + length);
            any = true;
          }
        }
      if (any) {
        let result = "";
        for (let i = 0; i < out.length;) {
          if (marked[i] === 1) {
            while (i < out.length && marked[i] === 1) i++;
            result += REDACTED;
          } else {
            const start = i;
            while (i < out.length && marked[i] !== 1) i++;
            result += out.slice(start, i);
          }
        }
        out = result;
      }
    }
    for (const form of short) out = out.split(form).join(REDACTED);
    return out;
  };
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
    carries: (value) => !none && text(value) !== value,
    error(thrown) {
      const info = toErrorInfo(thrown);
      const message = text(info.message);
      const details = info.details === undefined ? undefined : json(info.details);
      return info.retryable
        ? new SagaError(info.code, message, { retryable: true, details })
        : new TerminalError(message, { code: info.code, details });
    },
  };
}
