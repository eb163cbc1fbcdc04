/**
 * `saga-orchestrator/definitions`: sagas declared as data (JSON or YAML, format in
 * docs/definitions.md): validate a document, see every problem at its JSON path, and compile it
 * to the same `SagaDefinition` a TypeScript saga is, to hand to `createOrchestrator({ sagas })`.
 */
export {
  compileDefinition,
  type CompileOptions,
  type CompiledDefinition,
} from "../definitions/format/compile.js";
export {
  DEFINITION_LIMITS,
  definitionIssues,
  definitionProblems,
  type DefinitionProblem,
  type ValidateOptions,
} from "../definitions/format/validate.js";
export {
  SagaDocumentSchema,
  sagaDocumentJsonSchema,
  type SagaDocument,
} from "../definitions/format/schema.js";
export type { HttpStepDeps } from "../steps/http/http-step.js";
export {
  createSsrfGuard,
  type GuardDecision,
  type SsrfGuard,
  type SsrfGuardOptions,
} from "../steps/http/ssrf-guard.js";
export type {
  ConnectTarget,
  Connector,
  HttpTransport,
  ResolvedAddress,
  Resolver,
} from "../steps/http/http-client.js";
export type { SecretSource, TenantSecretSource } from "../steps/http/secrets.js";
