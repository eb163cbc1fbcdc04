import type { Logger } from "./logger.js";
import type { CommitListener } from "./observer.js";

/** Log lines for what sagas do, each carrying the saga id, type and correlation id. */
export function logListener(logger: Logger): CommitListener {
  return (state, events) => {
    const base = {
      sagaId: state.id,
      sagaType: state.name,
      correlationId: state.correlationId,
      tenantId: state.tenantId,
    };
    for (const e of events) {
      switch (e.type) {
        case "SagaStarted":
          logger.info({ ...base, version: e.version }, "saga started");
          break;
        case "StepCompleted":
          logger.debug({ ...base, step: e.step, attempt: e.attempt }, "step completed");
          break;
        case "StepFailed":
          logger.warn(
            {
              ...base,
              step: e.step,
              attempt: e.attempt,
              error: e.error,
              willRetry: e.retryAt !== null,
            },
            e.retryAt !== null ? "step failed, will retry" : "step failed for good",
          );
          break;
        case "SagaCompensationStarted":
          logger.warn({ ...base, reason: e.reason, error: e.error }, "saga compensating");
          break;
        case "StepCompensationFailed":
          logger.warn(
            { ...base, step: e.step, attempt: e.attempt, error: e.error },
            "compensation failed",
          );
          break;
        case "SagaCompleted":
        case "SagaCompensated":
          logger.info(
            { ...base, status: state.status, reason: state.reason },
            `saga ${state.status}`,
          );
          break;
        case "SagaFailed":
          logger.error(
            { ...base, phase: e.phase, error: e.error },
            "saga failed: needs an operator",
          );
          break;
        default:
          break;
      }
    }
  };
}
