import { TerminalError } from "../../core/errors.js";
import type { Json } from "../../core/json.js";
import type { StepContext } from "../../engine/definition.js";
import { HttpErrorCodes } from "./errors.js";
import { sendHttpRequest, type HttpTransport } from "./http-client.js";
import { interpretResponse } from "./outcome.js";
import { buildRequest } from "./request.js";
import { createScrubber, resolveSecrets, secretNames, type SecretSource } from "./secrets.js";
import { httpStepSpecProblems, type HttpStepSpec } from "./spec.js";

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_REDIRECTS = 3;

export interface HttpStepDeps {
  /**
   * Service name -> base URL, e.g. `{ user: USER_SERVICE_URL, billing: SERVICE_BILLING_URL }`.
   * Names match case-insensitively.
   */
  serviceUrls: Readonly<Record<string, string>>;
  /** Resolves `{{secrets.NAME}}`; called at dispatch only, for the names the step uses. */
  secrets: SecretSource;
  /** The SSRF guard, plus a resolver and connector to replace in tests. */
  transport: HttpTransport;
  defaultTimeoutMs?: number;
  maxResponseBytes?: number;
  maxRedirects?: number;
  /** For `Retry-After` dates. Default `Date.now`. */
  now?: () => number;
}

/** The parts of the step context an `http` step reads. */
export type HttpStepContext = Pick<
  StepContext<unknown, unknown>,
  "sagaId" | "sagaName" | "input" | "results" | "idempotencyKey" | "signal" | "correlationId"
>;

function serviceUrl(urls: Readonly<Record<string, string>>, service: string): string {
  const wanted = service.toLowerCase();
  for (const [name, url] of Object.entries(urls)) if (name.toLowerCase() === wanted) return url;
  throw new TerminalError(`no service named ${service} is configured`, {
    code: HttpErrorCodes.HTTP_INVALID_REQUEST,
    details: { known: Object.keys(urls) },
  });
}

/**
 * Runs one attempt of an `http` step: renders the request, resolves its secrets, sends it with
 * `Idempotency-Key: ctx.idempotencyKey` and `X-Correlation-ID: ctx.correlationId ?? sagaId`,
 * and returns the mapped result. Failures are thrown as `SagaError`s whose retryability the
 * engine follows: 5xx, 429, network errors and timeouts are retryable (`details.retryAfterMs`
 * when the service sent `Retry-After`); other 4xx, refused destinations and bad responses are
 * `TerminalError`s. No secret value ever appears in the result or in a thrown error: every
 * value used (raw, URL-encoded or JSON-escaped) is replaced with "[redacted]".
 * @example
 * const result = await executeHttpStep(
 *   { service: "user", method: "POST", path: "/users", body: { email: "{{input.email}}" } },
 *   ctx,
 *   { serviceUrls: { user: "http://users:8080" }, secrets: (n) => process.env[n],
 *     transport: { guard: createSsrfGuard({ serviceUrls: ["http://users:8080"] }) } },
 * );
 */
export async function executeHttpStep(
  spec: HttpStepSpec,
  ctx: HttpStepContext,
  deps: HttpStepDeps,
): Promise<Json> {
  let scrubber = createScrubber([]);
  try {
    const problems = httpStepSpecProblems(spec);
    if (problems.length > 0)
      throw new TerminalError(`invalid http step: ${problems.join("; ")}`, {
        code: HttpErrorCodes.HTTP_INVALID_REQUEST,
        details: problems,
      });
    const baseUrl = serviceUrl(deps.serviceUrls, spec.service);
    if (secretNames(spec.result).length > 0)
      throw new TerminalError(`a result mapping cannot use secrets`, {
        code: HttpErrorCodes.HTTP_INVALID_REQUEST,
      });
    const secrets = await resolveSecrets(
      secretNames(spec.path, spec.query, spec.headers, spec.body),
      deps.secrets,
    );
    scrubber = createScrubber(Object.values(secrets));
    const context = {
      input: ctx.input,
      results: ctx.results,
      saga: { id: ctx.sagaId, name: ctx.sagaName },
    };
    const request = buildRequest(spec, baseUrl, { ...context, secrets }, scrubber, {
      "idempotency-key": ctx.idempotencyKey,
      "x-correlation-id": ctx.correlationId ?? ctx.sagaId,
    });
    const response = await sendHttpRequest(
      {
        ...request,
        signal: ctx.signal,
        timeoutMs: spec.timeout_ms ?? deps.defaultTimeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS,
        maxResponseBytes:
          spec.max_response_bytes ?? deps.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
        maxRedirects: spec.max_redirects ?? deps.maxRedirects ?? DEFAULT_MAX_REDIRECTS,
      },
      deps.transport,
    );
    const now = (deps.now ?? Date.now)();
    return scrubber.json(interpretResponse(spec, response, context, now));
  } catch (thrown) {
    throw scrubber.error(thrown);
  }
}
