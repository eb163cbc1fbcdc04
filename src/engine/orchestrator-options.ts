import { randomUUID } from "node:crypto";
import { ErrorCodes, SagaError } from "../core/errors.js";
import type { Clock } from "./clock.js";
import type { SagaDefinition } from "./definition.js";
import { silentLogger, type Logger } from "./logger.js";
import type { Store } from "./store-port.js";

export interface OrchestratorOptions {
  store: Store;
  sagas: readonly SagaDefinition<never, never>[];
  /** Tenant of the sagas this orchestrator starts and reads, unless a call names another. */
  tenantId?: string;
  /** This process's identity in lease columns; default a random UUID. */
  workerId?: string;
  /** How long a lease lasts without renewal; a crashed worker's sagas resume after it. Default 30 s. */
  leaseMs?: number;
  /** How often held leases are renewed (and cancel requests picked up). Default min(1 s, lease/3). */
  heartbeatMs?: number;
  /** How often the store is polled for due work (timers, retries, recovery). Default 500 ms. */
  pollIntervalMs?: number;
  /**
   * Sagas run at once by this process; starts beyond it are stored as due work for any worker.
   * 0 makes a pure producer (with `worker: false`). Default 1000.
   */
  maxConcurrentSagas?: number;
  /** Claim due work from the store (false: only run the sagas this process starts). Default true. */
  worker?: boolean;
  /** Most sagas written in one group commit. Default 256. */
  maxCommitBatch?: number;
  /** Group commits in flight at once. Default 2. */
  commitConcurrency?: number;
  /** How often `result()` reads the store for a saga run by another process. Default 250 ms. */
  resultPollMs?: number;
  /** Write lifecycle events (saga.started, saga.completed…) to the outbox for the bus. Default false. */
  outbox?: boolean;
  /** Close the store in `close()` (default true; false when the store is shared). */
  closeStore?: boolean;
  logger?: Logger;
  clock?: Clock;
  random?: () => number;
  /** Largest step result (serialised UTF-8 bytes); larger fails the step (SAGA_STEP_RESULT_TOO_LARGE). Default 1 MiB. */
  maxStepResultBytes?: number;
}

/** The options with every default applied and every number checked: read once, at construction. */
export interface CompiledOptions {
  readonly store: Store;
  readonly sagas: readonly SagaDefinition<never, never>[];
  readonly tenantId: string;
  readonly workerId: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly pollIntervalMs: number;
  readonly maxConcurrentSagas: number;
  readonly worker: boolean;
  readonly maxCommitBatch: number;
  readonly commitConcurrency: number;
  readonly resultPollMs: number;
  readonly outbox: boolean;
  readonly closeStore: boolean;
  readonly logger: Logger;
  readonly clock: Clock | undefined;
  readonly random: () => number;
  readonly maxStepResultBytes: number | undefined;
}

/**
 * Applies the defaults and checks the numbers, once (like Temporal's `compileWorkerOptions`):
 * a bad value is a SAGA_INVALID_INPUT naming the option, before anything is opened.
 */
export function compileOrchestratorOptions(options: OrchestratorOptions): CompiledOptions {
  const leaseMs = int("leaseMs", options.leaseMs, 30_000, 1);
  const compiled: CompiledOptions = {
    store: options.store,
    sagas: options.sagas,
    tenantId: options.tenantId ?? "default",
    workerId: options.workerId ?? randomUUID(),
    leaseMs,
    heartbeatMs: int("heartbeatMs", options.heartbeatMs, Math.min(1_000, leaseMs / 3), 1),
    pollIntervalMs: int("pollIntervalMs", options.pollIntervalMs, 500, 1),
    maxConcurrentSagas: int("maxConcurrentSagas", options.maxConcurrentSagas, 1000, 0),
    worker: options.worker ?? true,
    maxCommitBatch: int("maxCommitBatch", options.maxCommitBatch, 256, 1),
    commitConcurrency: int("commitConcurrency", options.commitConcurrency, 2, 1),
    resultPollMs: int("resultPollMs", options.resultPollMs, 250, 1),
    outbox: options.outbox ?? false,
    closeStore: options.closeStore ?? true,
    logger: options.logger ?? silentLogger,
    clock: options.clock,
    random: options.random ?? Math.random,
    maxStepResultBytes:
      options.maxStepResultBytes === undefined
        ? undefined
        : int("maxStepResultBytes", options.maxStepResultBytes, 0, 1),
  };
  if (compiled.heartbeatMs >= compiled.leaseMs) {
    throw invalid(
      `heartbeatMs (${compiled.heartbeatMs}) must be shorter than leaseMs (${compiled.leaseMs}), or leases expire between renewals`,
    );
  }
  if (typeof compiled.tenantId !== "string" || compiled.tenantId.length === 0)
    throw invalid("tenantId must be a non-empty string");
  if (typeof compiled.workerId !== "string" || compiled.workerId.length === 0)
    throw invalid("workerId must be a non-empty string");
  return Object.freeze(compiled);
}

/** A whole number >= min (fractions from a default such as lease/3 are rounded down). */
function int(name: string, value: number | undefined, fallback: number, min: number): number {
  const n = value ?? Math.floor(fallback);
  if (typeof n !== "number" || !Number.isFinite(n) || !Number.isInteger(n) || n < min)
    throw invalid(`${name} must be an integer >= ${min}, got ${String(value)}`);
  return n;
}

function invalid(message: string): SagaError {
  return new SagaError(ErrorCodes.INVALID_INPUT, `orchestrator options: ${message}`, {
    retryable: false,
  });
}
