import type { Json, JsonProblemKind } from "./json.js";
import { ErrorRegistry, type ErrorGroup, type ErrorSpec } from "./error-registry.js";

export { ErrorRegistry, type ErrorGroup, type ErrorSpec };

/** A code of the registry (`ErrorRegistry` in ./error-registry.ts, the table of docs/errors.md). */
export type ErrorCode = keyof typeof ErrorRegistry;

/**
 * Every code of the registry by value, key === code: write `ErrorCodes.SAGA_NOT_FOUND`, never the
 * string. docs/errors.md says what each one means and how to fix it.
 */
export const ErrorCodes: { readonly [C in ErrorCode]: C } = Object.freeze(
  Object.fromEntries(Object.keys(ErrorRegistry).map((code) => [code, code])),
) as { readonly [C in ErrorCode]: C };

/** The codes whose registry entry says a retry cannot help (what the factories below accept). */
export type NonRetryableCode = {
  [C in ErrorCode]: (typeof ErrorRegistry)[C]["retryable"] extends false ? C : never;
}[ErrorCode];

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ErrorRegistry, code);
}

/** The registry entry of `code`, or undefined for a code of the user's own (`TerminalError`). */
export function errorSpec(code: string): ErrorSpec | undefined {
  return isErrorCode(code) ? ErrorRegistry[code] : undefined;
}

/** The HTTP status the API answers for `code`, or undefined when the registry gives none. */
export function httpStatusOf(code: string): number | undefined {
  return errorSpec(code)?.status;
}

/** The serialisable form of an error, as stored in events and results. */
export interface ErrorInfo {
  name: string;
  code: string;
  message: string;
  retryable: boolean;
  details?: Json;
}

export interface SagaErrorOptions {
  cause?: unknown;
  /** Whether a retry may help; by default the registry's answer for the code (true for a code of your own). */
  retryable?: boolean;
  details?: Json;
}

/**
 * Base class of every error the orchestrator throws: a stable `code`, a `cause`, and whether a
 * retry may help (by default what the registry says of the code).
 */
export class SagaError extends Error {
  override readonly name: string = "SagaError";
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Json | undefined;

  constructor(code: string, message: string, options: SagaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? errorSpec(code)?.retryable ?? true;
    this.details = options.details;
  }
}

/**
 * Throw from a step (or compensation) to give up at once: no further retries.
 * @example throw new TerminalError("card declined", { code: "CARD_DECLINED" })
 */
export class TerminalError extends SagaError {
  override readonly name: string = "TerminalError";
  constructor(message: string, options: { code?: string; cause?: unknown; details?: Json } = {}) {
    super(options.code ?? ErrorCodes.SAGA_STEP_FAILED, message, { ...options, retryable: false });
  }
}

/** Options of the factories: a more precise code than the default, details, a cause. */
export interface FactoryOptions<C extends NonRetryableCode> {
  code?: C;
  details?: Json;
  cause?: unknown;
}

type NotFoundCode = Extract<
  NonRetryableCode,
  `${string}NOT_FOUND` | typeof ErrorCodes.SAGA_UNKNOWN_TYPE
>;
type InvalidStateCode = Extract<
  NonRetryableCode,
  typeof ErrorCodes.SAGA_INVALID_STATE | `${string}_CONFLICT`
>;

function nonRetryable(
  code: NonRetryableCode,
  message: string,
  options: FactoryOptions<NonRetryableCode>,
) {
  const { details, cause } = options;
  return new SagaError(code, message, { retryable: false, details, cause });
}

/**
 * The thing asked for does not exist (a saga, a secret, a saga type…). Never retryable.
 * @example throw notFound(`no saga ${id}`)
 */
export function notFound(message: string, options: FactoryOptions<NotFoundCode> = {}): SagaError {
  return nonRetryable(options.code ?? ErrorCodes.SAGA_NOT_FOUND, message, options);
}

/** The operation does not fit the current state (retry of a completed saga…). Never retryable. */
export function invalidState(
  message: string,
  options: FactoryOptions<InvalidStateCode> = {},
): SagaError {
  return nonRetryable(options.code ?? ErrorCodes.SAGA_INVALID_STATE, message, options);
}

/**
 * The caller's input is not acceptable; `code` names the bound it breaks when there is one
 * (`SAGA_JSON_TOO_DEEP`, `SAGA_DURATION_TOO_LONG`…). Never retryable.
 */
export function invalidInput(
  message: string,
  options: FactoryOptions<NonRetryableCode> = {},
): SagaError {
  return nonRetryable(options.code ?? ErrorCodes.SAGA_INVALID_INPUT, message, options);
}

/** Shows any thrown value as text: a string as it is, anything else as JSON when it can. */
function shown(thrown: unknown): string {
  try {
    return typeof thrown === "string" ? thrown : (JSON.stringify(thrown) ?? String(thrown));
  } catch {
    return String(thrown);
  }
}

/** Normalises anything thrown into an `Error` (a thrown string becomes a `SagaError`). */
export function ensureError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new SagaError(
    ErrorCodes.SAGA_NON_ERROR_THROWN,
    `a non-Error value was thrown: ${shown(thrown)}`,
    { cause: thrown },
  );
}

/** The message of anything thrown, for a log line or a wrapping error (instead of casting it). */
export function errorMessage(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : shown(thrown);
}

/**
 * The stored form of a thrown value. Retryability is data: `retryable: false` on the error (or a
 * `TerminalError`) gives up at once; everything else may be retried.
 */
export function toErrorInfo(
  thrown: unknown,
  fallbackCode: string = ErrorCodes.SAGA_STEP_FAILED,
): ErrorInfo {
  const error = ensureError(thrown);
  const code = "code" in error ? error.code : undefined;
  const info: ErrorInfo = {
    name: error.name,
    code: typeof code === "string" ? code : fallbackCode,
    message: error.message,
    retryable: !("retryable" in error) || error.retryable !== false,
  };
  if (error instanceof SagaError && error.details !== undefined) info.details = error.details;
  return info;
}

export function errorInfo(code: string, message: string, retryable: boolean): ErrorInfo {
  return { name: "SagaError", code, message, retryable };
}

/**
 * The code for a JSON value refused by `toJson`: the bound's own code (too deep, bad string, bad
 * number, too large), else `fallback` (the entry point's "not JSON" code).
 */
export function jsonProblemCode(kind: JsonProblemKind, fallback: ErrorCode): ErrorCode {
  switch (kind) {
    case "too_deep":
      return ErrorCodes.SAGA_JSON_TOO_DEEP;
    case "too_large":
      return ErrorCodes.SAGA_JSON_TOO_LARGE;
    case "bad_string":
      return ErrorCodes.SAGA_JSON_BAD_STRING;
    case "bad_number":
      return ErrorCodes.SAGA_JSON_BAD_NUMBER;
    default:
      return fallback;
  }
}
