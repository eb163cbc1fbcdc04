import { ErrorCodes, SagaError } from "../core/errors.js";

/** The errors the engine's commands raise, in one place so that their codes and wording agree. */

export function sagaNotFound(sagaId: string): SagaError {
  return new SagaError(ErrorCodes.NOT_FOUND, `no saga ${sagaId}`, { retryable: false });
}

export function closedError(): SagaError {
  return new SagaError(ErrorCodes.CLOSED, "the orchestrator is closed", { retryable: false });
}

export function invalidState(message: string): SagaError {
  return new SagaError(ErrorCodes.INVALID_STATE, message, { retryable: false });
}

export function invalidInput(message: string, cause?: unknown): SagaError {
  return new SagaError(ErrorCodes.INVALID_INPUT, message, {
    retryable: false,
    ...(cause !== undefined ? { cause } : {}),
  });
}
