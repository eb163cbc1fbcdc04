import { ErrorCodes, notFound, SagaError } from "../core/errors.js";

/** The errors the engine's commands raise about one saga, so that their wording agrees. */

export function sagaNotFound(sagaId: string): SagaError {
  return notFound(`no saga ${sagaId}`);
}

export function closedError(): SagaError {
  return new SagaError(ErrorCodes.SAGA_ORCHESTRATOR_CLOSED, "the orchestrator is closed");
}
