import { TerminalError, ErrorCodes } from "../../core/errors.js";
import type { Json } from "../../core/json.js";
import type { StepContext } from "../../engine/definition.js";
import { sendHttpRequest, vetDestination, type HttpTransport } from "./http-client.js";
import { interpretResponse } from "./outcome.js";
import { buildRequest, callbackUrls } from "./request.js";
import {
  createScrubber,
  platformSecretForbidden,
  resolveSecrets,
  SECRET_ROOTS,
  secretNames,
  type SecretSource,
  type TenantSecretSource,
} from "./secrets.js";
import { httpStepSpecProblems, type HttpStepSpec } from "./spec.js";
import { traceHeaders } from "./trace-headers.js";

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_REDIRECTS = 3;

export interface HttpStepDeps {
  /**
   * Service name -> base URL, e.g. `{ user: USER_SERVICE_URL, billing: SERVICE_BILLING_URL }`.
   * Names match case-insensitively.
   */
  serviceUrls: Readonly<Record<string, string>>;
  /**
   * Resolves platform secrets, `{{secrets.NAME}}` (the secrets file or folder of the operator);
   * called at dispatch only, for the names the step uses, and only for platform definitions.
   */
  secrets: SecretSource;
  /** Resolves `{{tenant_secrets.NAME}}` of the saga's tenant (absent: none are set). */
  tenantSecrets?: TenantSecretSource;
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
  | "sagaId"
  | "sagaName"
  | "tenantId"
  | "input"
  | "results"
  | "idempotencyKey"
  | "signal"
  | "correlationId"
> &
  /** The attempt's identity; without it no `traceparent` is sent. */
  Partial<Pick<StepContext<unknown, unknown>, "step" | "attempt">>;

/** Who wrote the definition a step belongs to: only the platform's may use platform secrets. */
export interface HttpStepScope {
  platform: boolean;
}

function serviceUrl(urls: Readonly<Record<string, string>>, service: string): string {
  const wanted = service.toLowerCase();
  for (const [name, url] of Object.entries(urls)) if (name.toLowerCase() === wanted) return url;
  throw new TerminalError(`no service named ${service} is configured`, {
    code: ErrorCodes.SAGA_HTTP_INVALID_REQUEST,
    details: { known: Object.keys(urls) },
  });
}

/**
 * Runs one attempt of an `http` step: renders the request, resolves its secrets, vets its
 * callback URLs, sends it with `Idempotency-Key: ctx.idempotencyKey`, `X-Correlation-ID:
 * ctx.correlationId ?? sagaId`, `X-Tenant-ID: ctx.tenantId` (and, when tracing is on,
 * `traceparent` naming this attempt's span), and returns the mapped result.
 * Failures are thrown as `SagaError`s whose retryability the engine follows: 5xx, 429, network
 * errors and timeouts are retryable (`details.retryAfterMs` when the service sent `Retry-After`);
 * other 4xx, refused destinations and bad responses are `TerminalError`s. Platform secrets
 * (`{{secrets.NAME}}`) are refused unless `scope.platform`. No secret value, nor any fragment of
 * MIN_FRAGMENT characters of one in a common encoding, appears in the result or a thrown error:
 * the response is scrubbed before anything reads (or truncates) it, and again after mapping.
 * @example
 * const result = await executeHttpStep(
 *   { service: "user", method: "POST", path: "/users", body: { email: "{{input.email}}" } },
 *   ctx,
 *   { serviceUrls: { user: "http://users:8080" }, secrets: (n) => platformSecrets[n],
 *     transport: { guard: createSsrfGuard({ serviceUrls: ["http://users:8080"] }) } },
 *   { platform: true },
 * );
 */
export async function executeHttpStep(
  spec: HttpStepSpec,
  ctx: HttpStepContext,
  deps: HttpStepDeps,
  scope: HttpStepScope = { platform: false },
): Promise<Json> {
  let scrubber = createScrubber([]);
  try {
    const problems = httpStepSpecProblems(spec);
    if (problems.length > 0)
      throw new TerminalError(`invalid http step: ${problems.join("; ")}`, {
        code: ErrorCodes.SAGA_HTTP_INVALID_REQUEST,
        details: problems,
      });
    const baseUrl = serviceUrl(deps.serviceUrls, spec.service);
    if (
      secretNames(SECRET_ROOTS.platform, spec.result).length > 0 ||
      secretNames(SECRET_ROOTS.tenant, spec.result).length > 0
    )
      throw new TerminalError(`a result mapping cannot use secrets`, {
        code: ErrorCodes.SAGA_HTTP_INVALID_REQUEST,
      });
    const templates = [spec.path, spec.query, spec.headers, spec.body];
    const platformNames = secretNames(SECRET_ROOTS.platform, ...templates);
    if (platformNames.length > 0 && !scope.platform) throw platformSecretForbidden(platformNames);
    const platformSecrets = await resolveSecrets(platformNames, deps.secrets, "secret");
    const tenantSource = deps.tenantSecrets;
    const tenantSecrets = await resolveSecrets(
      secretNames(SECRET_ROOTS.tenant, ...templates),
      (name) => (tenantSource ? tenantSource(ctx.tenantId, name) : undefined),
      "tenant secret",
    );
    scrubber = createScrubber([...Object.values(platformSecrets), ...Object.values(tenantSecrets)]);
    const context = {
      input: ctx.input,
      results: ctx.results,
      saga: { id: ctx.sagaId, name: ctx.sagaName, tenant_id: ctx.tenantId },
    };
    const request = buildRequest(
      spec,
      baseUrl,
      {
        ...context,
        [SECRET_ROOTS.platform]: platformSecrets,
        [SECRET_ROOTS.tenant]: tenantSecrets,
      },
      scrubber,
      {
        "idempotency-key": ctx.idempotencyKey,
        "x-correlation-id": ctx.correlationId ?? ctx.sagaId,
        "x-tenant-id": ctx.tenantId,
        ...traceHeaders(ctx),
      },
    );
    for (const url of callbackUrls(spec, request)) await vetDestination(url, deps.transport);
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
    // Scrub before anything reads the answer: an error keeps only the first part of the body,
    // and a cut made before scrubbing would leave part of a secret behind.
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers))
      headers[scrubber.text(name)] = scrubber.text(value);
    const scrubbed = { ...response, headers, text: scrubber.text(response.text) };
    const now = (deps.now ?? Date.now)();
    return scrubber.json(interpretResponse(spec, scrubbed, context, now));
  } catch (thrown) {
    throw scrubber.error(thrown);
  }
}
