import { SagaError } from "../core/errors.js";

/**
 * Error codes of the bus adapters. They belong in the registry of `core/errors.ts` and the table
 * of docs/errors.md; they live here until the lead moves them (core/ was being edited).
 */
export const BusErrorCodes = {
  /** The bus was closed; nothing more can be published or subscribed. */
  CLOSED: "SAGA_BUS_CLOSED",
  /** Redis did not answer or refused the command (down, restarting, unreachable). Retry later. */
  UNAVAILABLE: "SAGA_BUS_UNAVAILABLE",
  /** A published message is not valid (missing id/type, data not JSON, non-string header). */
  INVALID_MESSAGE: "SAGA_BUS_INVALID_MESSAGE",
  /** An entry on the stream could not be decoded; it was moved to the dead-letter stream. */
  MALFORMED_ENTRY: "SAGA_BUS_MALFORMED_ENTRY",
  /** Subscribe options are invalid (empty group or consumer, maxDeliveries below 1…). */
  INVALID_OPTIONS: "SAGA_BUS_INVALID_OPTIONS",
  /** Redis answered with a reply of an unexpected shape. */
  UNEXPECTED_REPLY: "SAGA_BUS_UNEXPECTED_REPLY",
} as const;

export function busError(
  code: (typeof BusErrorCodes)[keyof typeof BusErrorCodes],
  message: string,
  cause?: unknown,
): SagaError {
  const retryable = code === BusErrorCodes.UNAVAILABLE;
  return new SagaError(code, message, cause === undefined ? { retryable } : { retryable, cause });
}
