import type { Json } from "./json.js";

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
  /** The definition given to `defineSaga` is invalid. */
  INVALID_DEFINITION: "SAGA_INVALID_DEFINITION",
  /** A definition with this name and version exists with other content (register a new version). */
  DEFINITION_CONFLICT: "SAGA_DEFINITION_CONFLICT",
  /** `start` named a saga type (or version) this orchestrator does not know. */
  UNKNOWN_SAGA_TYPE: "SAGA_UNKNOWN_TYPE",
  /** The saga input is not JSON. */
  INVALID_INPUT: "SAGA_INVALID_INPUT",
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
