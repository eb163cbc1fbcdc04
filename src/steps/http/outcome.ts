import { SagaError, TerminalError } from "../../core/errors.js";
import type { Json, JsonObject } from "../../core/json.js";
import { render } from "../template.js";
import { HttpErrorCodes } from "./errors.js";
import type { HttpResponse } from "./http-client.js";
import { matchesStatus, type HttpStepSpec } from "./spec.js";

const BODY_IN_ERRORS = 2_000;

/**
 * `Retry-After` in milliseconds from `nowMs`: delay-seconds or an HTTP date (a past date is 0).
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

const isJsonType = (contentType: string | undefined): boolean =>
  contentType !== undefined && /^application\/([\w.+-]*\+)?json\b/i.test(contentType.trim());

/** The body as JSON when the response says it is JSON, else the text (null when empty). */
export function decodeBody(response: HttpResponse): { ok: true; body: Json } | { ok: false } {
  if (response.text === "") return { ok: true, body: null };
  if (!isJsonType(response.headers["content-type"])) return { ok: true, body: response.text };
  try {
    return { ok: true, body: JSON.parse(response.text) as Json };
  } catch {
    return { ok: false };
  }
}

/**
 * The step's outcome for a response: the mapped result on a success status, else the error to
 * throw — retryable for 5xx, 429 and `retryable_statuses`, terminal otherwise.
 */
export function interpretResponse(
  spec: HttpStepSpec,
  response: HttpResponse,
  context: Record<string, unknown>,
  nowMs: number,
): Json {
  const { status } = response;
  const where = `${spec.service} answered ${status} to ${(spec.method ?? "GET").toUpperCase()} ${new URL(response.url).pathname}`;
  if (matchesStatus(spec.success_statuses ?? ["2xx"], status)) {
    const decoded = decodeBody(response);
    if (!decoded.ok)
      throw new TerminalError(`${where} with a body that is not the JSON it claims to be`, {
        code: HttpErrorCodes.HTTP_INVALID_RESPONSE,
        details: { status, body: response.text.slice(0, BODY_IN_ERRORS) },
      });
    const mapped = { status, headers: response.headers, body: decoded.body };
    return render(spec.result ?? "{{response.body}}", { ...context, response: mapped });
  }

  const details: JsonObject = { status, body: response.text.slice(0, BODY_IN_ERRORS) };
  const retryAfterMs = parseRetryAfter(response.headers["retry-after"], nowMs);
  const code =
    status >= 500 && status <= 599
      ? HttpErrorCodes.HTTP_5XX
      : status === 429
        ? HttpErrorCodes.HTTP_429
        : status >= 400 && status <= 499
          ? HttpErrorCodes.HTTP_4XX
          : HttpErrorCodes.HTTP_UNEXPECTED_STATUS;
  const retryable =
    code === HttpErrorCodes.HTTP_5XX ||
    code === HttpErrorCodes.HTTP_429 ||
    matchesStatus(spec.retryable_statuses ?? [], status);
  if (!retryable) throw new TerminalError(where, { code, details });
  if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
  throw new SagaError(code, where, { details });
}
