import type { ErrorInfo } from "../core/errors.js";
import type { CompensationReason } from "../core/events.js";
import type { Json } from "../core/json.js";
import { stepResults, type SagaState } from "../core/state.js";

/** How a saga ended: `failed` means it waits for an operator (`retry` or, going forward, `cancel`). */
export interface SagaResult {
  sagaId: string;
  status: "completed" | "compensated" | "failed";
  /** Why it compensated: `step_failed`, `cancelled` or `timed_out`; null when it completed. */
  reason: CompensationReason | null;
  /** Results of the steps that completed, by step name. */
  results: Record<string, Json>;
  error: ErrorInfo | null;
  state: SagaState;
}

export function toResult(state: SagaState): SagaResult {
  return {
    sagaId: state.id,
    status: state.status as SagaResult["status"],
    reason: state.reason,
    results: stepResults(state),
    error: state.error,
    state,
  };
}
