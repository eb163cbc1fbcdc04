export { createOrchestrator, type CreateOrchestratorOptions } from "./create-orchestrator.js";
export {
  defineSaga,
  type AnyResults,
  type ParallelDefinition,
  type SagaDefinition,
  type SagaDefinitionInput,
  type SagaTrigger,
  type StepCallOptions,
  type StepContext,
  type StepDefinition,
  type StepFunction,
} from "./engine/definition.js";
export type { StepDirectives } from "./engine/step-directives.js";
export type { Emit, Suspend } from "./engine/directives.js";
export type { DefinitionLookup } from "./engine/registry.js";
export type { CommitListener } from "./engine/observer.js";
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
export type {
  DefinitionStore,
  OutboxSource,
  SagaPage,
  SagaQuery,
  SagaReader,
  SagaWriter,
  SignalInbox,
  Store,
  StoreLifecycle,
} from "./engine/store-port.js";
export { PostgresStore, type PostgresStoreOptions } from "./store/postgres-store.js";
export { PgliteStore, type PgliteStoreOptions } from "./store/pglite-store.js";
export {
  ErrorCodes,
  SagaError,
  TerminalError,
  type ErrorCode,
  type ErrorInfo,
  type SagaErrorOptions,
} from "./core/errors.js";
export {
  CompensationReasons,
  type CompensationReason,
  type FailedPhase,
  type FaultDirective,
  type OutboxMessage,
  type ParentRef,
  type SagaEvent,
  type WaitSpec,
} from "./core/events.js";
export {
  SagaStatuses,
  type SagaState,
  type SagaStatus,
  type StepState,
  type StepStatus,
} from "./core/state.js";
export {
  FailurePolicies,
  type FailurePolicy,
  type NodePlan,
  type RetryPolicy,
  type SagaPlan,
  type StepPlan,
} from "./core/plan.js";
export type { Json, JsonObject } from "./core/json.js";
export { replay } from "./core/reducer.js";
export { registerSagaMetrics, type MetricsSource } from "./telemetry/register-metrics.js";
