export { createOrchestrator, type CreateOrchestratorOptions } from "./create-orchestrator.js";
export {
  defineSaga,
  type AnyResults,
  type ParallelDefinition,
  type SagaDefinition,
  type SagaDefinitionInput,
  type StepCallOptions,
  type StepContext,
  type StepDefinition,
} from "./engine/definition.js";
export {
  Orchestrator,
  type CallOptions,
  type OrchestratorOptions,
  type SagaHandle,
  type StartOptions,
} from "./engine/orchestrator.js";
export type { SagaResult } from "./engine/saga-result.js";
export type { Logger } from "./engine/logger.js";
export type { Clock } from "./engine/clock.js";
export type { Store } from "./engine/store-port.js";
export { PostgresStore, type PostgresStoreOptions } from "./store/postgres-store.js";
export { PgliteStore, type PgliteStoreOptions } from "./store/pglite-store.js";
export {
  ErrorCodes,
  SagaError,
  TerminalError,
  type ErrorCode,
  type ErrorInfo,
} from "./core/errors.js";
export type { SagaEvent, CompensationReason } from "./core/events.js";
export type { SagaState, SagaStatus, StepState, StepStatus } from "./core/state.js";
export type { RetryPolicy, FailurePolicy } from "./core/plan.js";
export type { Json, JsonObject } from "./core/json.js";
export { replay } from "./core/reducer.js";
export { registerSagaMetrics, type MetricsSource } from "./telemetry/register-metrics.js";
