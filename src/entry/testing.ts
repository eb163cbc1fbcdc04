/**
 * `saga-orchestrator/testing`: what your tests need and production does not. Kept out of the
 * main entry point so that importing the library never loads it (as Temporal ships
 * `@temporalio/testing` apart).
 */
export {
  SIMULATED_SERVICES,
  startDownstreamSimulator,
  type DownstreamSimulator,
  type FailureRule,
  type LedgerEntry,
  type LedgerFilter,
  type SimulatedService,
  type SimulatorOptions,
} from "../testing/downstream-simulator.js";
