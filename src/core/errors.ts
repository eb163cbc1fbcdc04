import type { Json, JsonProblemKind } from "./json.js";

/**
 * Every error the orchestrator records or throws has a stable `code`.
 * The table in docs/errors.md says what each one means and how to fix it.
 */
export const ErrorCodes = {
  /** A step's action threw; the original message is kept. */
  STEP_FAILED: "SAGA_STEP_FAILED",
  /** A step attempt ran longer than its `timeoutMs`; its signal was aborted. */
  STEP_TIMEOUT: "SAGA_STEP_TIMEOUT",
  /** A compensation attempt ran longer than its timeout. */
  COMPENSATION_TIMEOUT: "SAGA_COMPENSATION_TIMEOUT",
  /** The whole saga ran past its `timeoutMs` deadline and was compensated. */
  SAGA_TIMEOUT: "SAGA_TIMEOUT",
  /** An operator cancelled the saga. */
  CANCELLED: "SAGA_CANCELLED",
  /** A step returned something that is not JSON (function, bigint, class instance, cycle…). */
  STEP_RESULT_NOT_JSON: "SAGA_STEP_RESULT_NOT_JSON",
  /** A step threw something that is not an `Error` (a string, an object…). */
  NON_ERROR_THROWN: "SAGA_NON_ERROR_THROWN",
  /**
   * The process running a step died before recording its outcome. Since the crash-loop rule the
   * attempt is re-run without counting against the retry budget; older histories may hold it.
   */
  WORKER_LOST: "SAGA_WORKER_LOST",
  /** A step (or compensation) lost its process `crashLoopLimit` times in a row: it fails for good. */
  CRASH_LOOP: "SAGA_CRASH_LOOP",
  /** A `wait` step's timeout passed before the event it waited for arrived. */
  WAIT_TIMEOUT: "SAGA_WAIT_TIMEOUT",
  /** A child saga (a `saga` step) did not complete: it compensated or failed. */
  CHILD_SAGA_FAILED: "SAGA_CHILD_FAILED",
  /** Someone asked to undo a completed saga (`compensate`, or its parent compensating). */
  COMPENSATION_REQUESTED: "SAGA_COMPENSATION_REQUESTED",
  /** A parallel branch was aborted because a sibling branch failed for good. */
  SIBLING_FAILED: "SAGA_SIBLING_FAILED",
  /** A fault injected at start (`fault`: a rehearsal) failed this attempt on purpose. */
  FAULT_INJECTED: "SAGA_FAULT_INJECTED",
  /** The definition given to `defineSaga` is invalid. */
  INVALID_DEFINITION: "SAGA_INVALID_DEFINITION",
  /** A definition with this name and version exists with other content (register a new version). */
  DEFINITION_CONFLICT: "SAGA_DEFINITION_CONFLICT",
  /** A definition document is larger than the limit (bytes of its JSON). */
  DEFINITION_TOO_LARGE: "SAGA_DEFINITION_TOO_LARGE",
  /** A definition document nests objects/arrays deeper than the limit. */
  DEFINITION_TOO_DEEP: "SAGA_DEFINITION_TOO_DEEP",
  /** A definition has more steps (counting parallel branches) than the limit. */
  DEFINITION_TOO_MANY_STEPS: "SAGA_DEFINITION_TOO_MANY_STEPS",
  /** A parallel group has more branches than the limit. */
  DEFINITION_TOO_MANY_BRANCHES: "SAGA_DEFINITION_TOO_MANY_BRANCHES",
  /** A definition starts more child sagas (`saga` steps) than the limit. */
  DEFINITION_TOO_MANY_CHILDREN: "SAGA_DEFINITION_TOO_MANY_CHILDREN",
  /** A template does not parse (unclosed `{{`, a brace inside a placeholder, not a path). */
  TEMPLATE_INVALID: "SAGA_TEMPLATE_INVALID",
  /** A template string or placeholder is longer than the limit. */
  TEMPLATE_TOO_LONG: "SAGA_TEMPLATE_TOO_LONG",
  /** A tenant's definition names a platform secret (`{{secrets.NAME}}`); only platform definitions may. */
  PLATFORM_SECRET_FORBIDDEN: "SAGA_PLATFORM_SECRET_FORBIDDEN",
  /** No tenant secret with this name (in this tenant). */
  SECRET_NOT_FOUND: "SAGA_SECRET_NOT_FOUND",
  /** A tenant secret's name or value is not acceptable (name pattern, size, empty). */
  INVALID_SECRET: "SAGA_INVALID_SECRET",
  /** `start` named a saga type (or version) this orchestrator does not know. */
  UNKNOWN_SAGA_TYPE: "SAGA_UNKNOWN_TYPE",
  /** The saga input is not JSON. */
  INVALID_INPUT: "SAGA_INVALID_INPUT",
  /** A JSON value from outside is nested deeper than 64 levels (`Limits.JSON_MAX_DEPTH`). */
  JSON_TOO_DEEP: "SAGA_JSON_TOO_DEEP",
  /** A JSON value from outside is larger than the bound of where it enters. */
  JSON_TOO_LARGE: "SAGA_JSON_TOO_LARGE",
  /** A JSON string (or key) holds a NUL character or a lone surrogate: it cannot be stored. */
  JSON_BAD_STRING: "SAGA_JSON_BAD_STRING",
  /** A JSON request body holds a `__proto__` key or `constructor.prototype` (prototype poisoning). */
  JSON_FORBIDDEN_KEY: "SAGA_JSON_FORBIDDEN_KEY",
  /** A JSON number is out of range (e.g. `1e400`, which parses as Infinity). */
  JSON_BAD_NUMBER: "SAGA_JSON_BAD_NUMBER",
  /** A step's result is larger than the step result quota (default 1 MiB). */
  STEP_RESULT_TOO_LARGE: "SAGA_STEP_RESULT_TOO_LARGE",
  /** An event's data is larger than the event size quota (default 256 KiB). */
  EVENT_TOO_LARGE: "SAGA_EVENT_TOO_LARGE",
  /** A replay would write more events than the replay quota (default 10,000). */
  REPLAY_TOO_LARGE: "SAGA_REPLAY_TOO_LARGE",
  /** A duration (timeout, deadline, sleep, wait, retry delay) is longer than its documented maximum. */
  DURATION_TOO_LONG: "SAGA_DURATION_TOO_LONG",
  /** No saga with this id (in this tenant). */
  NOT_FOUND: "SAGA_NOT_FOUND",
  /** The operation is not allowed in the saga's current status (e.g. retry of a completed saga). */
  INVALID_STATE: "SAGA_INVALID_STATE",
  /** Another writer appended to the saga's stream first (expected version mismatch). */
  VERSION_CONFLICT: "SAGA_VERSION_CONFLICT",
  /** This worker's lease on the saga expired or was taken over; its write was refused. */
  LEASE_LOST: "SAGA_LEASE_LOST",
  /** The orchestrator was closed. */
  CLOSED: "SAGA_ORCHESTRATOR_CLOSED",
  /** An event does not fit the state it is applied to (a corrupt or foreign stream). */
  INVALID_TRANSITION: "SAGA_INVALID_TRANSITION",
  /** The store (database) failed. */
  STORE_ERROR: "SAGA_STORE_ERROR",
  /** A PGlite data directory is open in another live process (PGlite allows one process). */
  STORE_LOCKED: "SAGA_STORE_LOCKED",
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * Codes the HTTP API answers for its own boundaries (auth, quotas, streams, headers); the status
 * is set in src/api. See the HTTP API table of docs/errors.md.
 */
export const ApiErrorCodes = {
  /** 400: X-Correlation-ID (or metadata.correlation_id) is not 1-128 of A-Z a-z 0-9 . _ : - */
  INVALID_CORRELATION_ID: "INVALID_CORRELATION_ID",
  /** 400: an idempotency key of the engine's own forms (`<saga id>:<step>`, `event:…`). */
  RESERVED_IDEMPOTENCY_KEY: "RESERVED_IDEMPOTENCY_KEY",
  /** 400: event metadata naming a bus header the engine sets (`x-*`, traceparent…). */
  RESERVED_METADATA_KEY: "RESERVED_METADATA_KEY",
  /** 403: a tenant quota (e.g. SAGA_QUOTA_DEFINITIONS) is used up. */
  QUOTA_EXCEEDED: "QUOTA_EXCEEDED",
  /** 429: the tenant's saga starts per second (SAGA_QUOTA_STARTS_PER_SECOND) are used up. */
  START_RATE_LIMITED: "START_RATE_LIMITED",
  /** 429: too many open SSE streams for the principal, the tenant or the server. */
  TOO_MANY_STREAMS: "TOO_MANY_STREAMS",
  /** 401: /metrics needs the METRICS_TOKEN bearer token. */
  METRICS_UNAUTHORIZED: "METRICS_UNAUTHORIZED",
} as const;

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
  retryable?: boolean;
  details?: Json;
}

/** Base class of the orchestrator's errors: a stable `code`, a `cause`, and whether a retry may help. */
export class SagaError extends Error {
  override readonly name: string = "SagaError";
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Json | undefined;

  constructor(code: string, message: string, options: SagaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? true;
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
    super(options.code ?? ErrorCodes.STEP_FAILED, message, { ...options, retryable: false });
  }
}

/** Normalises anything thrown into an `Error` (a thrown string becomes a `SagaError`). */
export function ensureError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  let shown: string;
  try {
    shown = typeof thrown === "string" ? thrown : (JSON.stringify(thrown) ?? String(thrown));
  } catch {
    shown = String(thrown);
  }
  return new SagaError(ErrorCodes.NON_ERROR_THROWN, `a non-Error value was thrown: ${shown}`, {
    cause: thrown,
  });
}

/**
 * The stored form of a thrown value. Retryability is data: `retryable: false` on the error (or a
 * `TerminalError`) gives up at once; everything else may be retried.
 */
export function toErrorInfo(
  thrown: unknown,
  fallbackCode: string = ErrorCodes.STEP_FAILED,
): ErrorInfo {
  const error = ensureError(thrown);
  const carried = error as Error & { code?: unknown; retryable?: unknown; details?: unknown };
  const info: ErrorInfo = {
    name: error.name,
    code: typeof carried.code === "string" ? carried.code : fallbackCode,
    message: error.message,
    retryable: carried.retryable !== false,
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
export function jsonProblemCode(kind: JsonProblemKind, fallback: string): string {
  switch (kind) {
    case "too_deep":
      return ErrorCodes.JSON_TOO_DEEP;
    case "too_large":
      return ErrorCodes.JSON_TOO_LARGE;
    case "bad_string":
      return ErrorCodes.JSON_BAD_STRING;
    case "bad_number":
      return ErrorCodes.JSON_BAD_NUMBER;
    default:
      return fallback;
  }
}
