import type { Json } from "../../core/json.js";

/** A status (`404`, `"404"`) or a class (`"4xx"`). */
export type StatusPattern = number | string;

/**
 * The configuration of an `http` step, as written in a saga definition. Every string in `path`,
 * `query`, `headers` and `body` is a template (see `../template.ts`) over
 * `{ input, results, saga: { id, name }, secrets }`; `result` is a template over
 * `{ response: { status, headers, body }, input, results, saga }` (no secrets).
 * @example
 * { service: "user", method: "POST", path: "/users/{{input.userId}}/profile",
 *   headers: { Authorization: "Bearer {{secrets.USER_TOKEN}}" },
 *   body: { email: "{{input.email}}" }, result: { id: "{{response.body.id}}" } }
 */
export interface HttpStepSpec {
  /** A configured service name: `user` (USER_SERVICE_URL), `billing` (SERVICE_BILLING_URL)… */
  service: string;
  /** Default GET. */
  method?: string;
  /** Appended to the service's base URL. Values of placeholders are percent-encoded, so an
   * input can never add path segments, a query or change the host. */
  path?: string;
  /** Query parameters; null values are left out, arrays repeat the parameter. */
  query?: { [name: string]: Json };
  headers?: { [name: string]: Json };
  /** Sent as JSON, or as is when it renders to a string and `Content-Type` is not JSON. */
  body?: Json;
  /** Statuses that mean success. Default `["2xx"]`. */
  success_statuses?: StatusPattern[];
  /** Statuses retried besides 5xx and 429 (which always are), e.g. `[409, 423]`. */
  retryable_statuses?: StatusPattern[];
  /** What the step returns. Default `"{{response.body}}"`. */
  result?: Json;
  /** Time limit of one attempt (whole exchange). Default: the dependencies' default (10 s). */
  timeout_ms?: number;
  /** Redirects followed, 0 to 10. Default 3; 0 returns a 3xx as the response. */
  max_redirects?: number;
  /** Largest response body read. Default 1 MiB. */
  max_response_bytes?: number;
  /**
   * Where the request carries URLs another service will call back (`body.notification_url`,
   * `query.callback`, `headers.X-Callback`). Each value present must be an http(s) URL that the
   * SSRF guard allows (host and every resolved address), checked at dispatch before sending.
   */
  callback_urls?: string[];
}

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** Headers the step sets itself (or Node computes) and a definition may not set. */
export const RESERVED_HEADERS = [
  "idempotency-key",
  "x-correlation-id",
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "x-tenant-id",
];

const KEYS = new Set([
  "service",
  "method",
  "path",
  "query",
  "headers",
  "body",
  "success_statuses",
  "retryable_statuses",
  "result",
  "timeout_ms",
  "max_redirects",
  "max_response_bytes",
  "callback_urls",
]);

/** Whether `status` matches one of the patterns. */
export function matchesStatus(patterns: readonly StatusPattern[], status: number): boolean {
  return patterns.some((p) =>
    typeof p === "number"
      ? p === status
      : /^[1-5]xx$/i.test(p)
        ? Math.floor(status / 100) === Number(p[0])
        : Number(p) === status,
  );
}

const isStatusPattern = (p: unknown): boolean =>
  (typeof p === "number" && Number.isInteger(p) && p >= 100 && p <= 599) ||
  (typeof p === "string" && (/^[1-5]xx$/i.test(p) || /^[1-5]\d\d$/.test(p)));

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Every problem of a step configuration, each as `<json path>: <what is wrong>` (empty when it
 * is valid). Templates are checked by the definition loader (paths, roots), not here.
 */
export function httpStepSpecProblems(raw: unknown, path = "$"): string[] {
  if (!isPlainObject(raw)) return [`${path}: must be an object`];
  const problems: string[] = [];
  for (const key of Object.keys(raw))
    if (!KEYS.has(key)) problems.push(`${path}.${key}: unknown setting`);
  if (typeof raw.service !== "string" || raw.service === "")
    problems.push(`${path}.service: must name a configured service`);
  if (
    raw.method !== undefined &&
    (typeof raw.method !== "string" ||
      !(HTTP_METHODS as readonly string[]).includes(raw.method.toUpperCase()))
  )
    problems.push(`${path}.method: must be one of ${HTTP_METHODS.join(", ")}`);
  if (raw.path !== undefined && typeof raw.path !== "string")
    problems.push(`${path}.path: must be a string`);
  for (const key of ["query", "headers"] as const)
    if (raw[key] !== undefined && !isPlainObject(raw[key]))
      problems.push(`${path}.${key}: must be an object`);
  if (isPlainObject(raw.headers))
    for (const name of Object.keys(raw.headers))
      if (RESERVED_HEADERS.includes(name.toLowerCase()))
        problems.push(`${path}.headers.${name}: is set by the step and cannot be configured`);
  for (const key of ["success_statuses", "retryable_statuses"] as const) {
    const value = raw[key];
    if (value !== undefined && (!Array.isArray(value) || !value.every(isStatusPattern)))
      problems.push(`${path}.${key}: must be a list of statuses (404) or classes ("4xx")`);
  }
  const int = (key: string, min: number, max: number) => {
    const value = raw[key];
    if (
      value !== undefined &&
      (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
    )
      problems.push(`${path}.${key}: must be an integer from ${min} to ${max}`);
  };
  const callbacks = raw.callback_urls;
  if (
    callbacks !== undefined &&
    (!Array.isArray(callbacks) ||
      callbacks.length > 16 ||
      !callbacks.every(
        (c) =>
          typeof c === "string" && /^(body|query|headers)(\.[A-Za-z0-9_-]{1,100}){1,16}$/.test(c),
      ))
  )
    problems.push(
      `${path}.callback_urls: must be up to 16 locations like body.notification_url, query.name or headers.Name`,
    );
  int("timeout_ms", 1, 3_600_000);
  int("max_redirects", 0, 10);
  int("max_response_bytes", 1, 64 * 1024 * 1024);
  return problems;
}
