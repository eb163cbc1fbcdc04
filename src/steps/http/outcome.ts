import { ErrorCodes, SagaError, TerminalError, jsonProblemCode } from "../../core/errors.js";
import {
  parseJson,
  storableText,
  stringProblem,
  type Json,
  type JsonObject,
} from "../../core/json.js";
import { MAX_RETRY_AFTER_MS } from "../../core/retry.js";
import { render } from "../template.js";
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
  // Capped: "Retry-After: 99999999999999999999" or a date in year 275760 is the server's word,
  // not a reason to park a saga (or overflow a timer).
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}

const isJsonType = (contentType: string | undefined): boolean =>
  contentType !== undefined && /^application\/([\w.+-]*\+)?json\b/i.test(contentType.trim());

/**
 * The body as JSON when the response says it is JSON, else the text (null when empty). The
 * answer is untrusted: nesting deeper than 64 levels, NUL characters, lone surrogates and numbers
 * out of range are refused (`code` says which) before anything walks or stores it.
 */
export function decodeBody(
  response: HttpResponse,
): { ok: true; body: Json } | { ok: false; code: string; problem: string } {
  if (response.text === "") return { ok: true, body: null };
  if (!isJsonType(response.headers["content-type"])) {
    const problem = stringProblem(response.text);
    return problem === null
      ? { ok: true, body: response.text }
      : {
          ok: false,
          code: ErrorCodes.SAGA_JSON_BAD_STRING,
          problem: `a text body with a ${problem}`,
        };
  }
  const checked = parseJson(response.text);
  if (checked.ok) return { ok: true, body: checked.value };
  const problem =
    checked.kind === "not_json"
      ? "a body that is not the JSON it claims to be"
      : `a JSON body refused at ${checked.path.slice(0, 200)}: ${checked.problem}`;
  return {
    ok: false,
    code: jsonProblemCode(checked.kind, ErrorCodes.SAGA_HTTP_INVALID_RESPONSE),
    problem,
  };
}

/** The start of a body, for an error: cut, and made storable (no NUL, no lone surrogate). */
function shownBody(text: string): string {
  return storableText(text.slice(0, BODY_IN_ERRORS));
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
      throw new TerminalError(`${where} with ${decoded.problem}`, {
        code: decoded.code,
        details: { status, body: shownBody(response.text) },
      });
    const mapped = { status, headers: response.headers, body: decoded.body };
    return render(spec.result ?? "{{response.body}}", { ...context, response: mapped });
  }

  const details: JsonObject = { status, body: shownBody(response.text) };
  const retryAfterMs = parseRetryAfter(response.headers["retry-after"], nowMs);
  const code =
    status >= 500 && status <= 599
      ? ErrorCodes.SAGA_HTTP_5XX
      : status === 429
        ? ErrorCodes.SAGA_HTTP_429
        : status >= 400 && status <= 499
          ? ErrorCodes.SAGA_HTTP_4XX
          : ErrorCodes.SAGA_HTTP_UNEXPECTED_STATUS;
  const retryable =
    code === ErrorCodes.SAGA_HTTP_5XX ||
    code === ErrorCodes.SAGA_HTTP_429 ||
    matchesStatus(spec.retryable_statuses ?? [], status);
  if (!retryable) throw new TerminalError(where, { code, details });
  if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
  throw new SagaError(code, where, { retryable: true, details });
}
