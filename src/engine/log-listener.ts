import type { Logger } from "./logger.js";
import type { CommitListener } from "./observer.js";

/** Log lines for what sagas do, each carrying the saga id, type and correlation id. */
export function logListener(logger: Logger): CommitListener {
  const enabled = (level: "debug" | "info" | "warn" | "error") =>
    logger.isLevelEnabled ? logger.isLevelEnabled(level) : true;
  return (state, events) => {
    // Most commits log nothing at the usual levels: skip them before building any line.
    if (!enabled("error") || (!enabled("debug") && !events.some(logged))) return;
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

/** Events logged at info level or above (StepCompleted is debug). */
function logged(e: { type: string }): boolean {
  switch (e.type) {
    case "SagaStarted":
    case "StepFailed":
    case "SagaCompensationStarted":
    case "StepCompensationFailed":
    case "SagaCompleted":
    case "SagaCompensated":
    case "SagaFailed":
      return true;
    default:
      return false;
  }
}
