import { ErrorCodes, invalidInput } from "../core/errors.js";
import type { Json } from "../core/json.js";
import { TOO_LONG } from "../core/limits.js";
import type { BusMessage } from "./bus-port.js";
import type { Suspend } from "./directives.js";
import type { StepDirectives } from "./step-directives.js";
import {
  DEFAULT_RETRY_POLICY,
  validatePlan,
  type FailurePolicy,
  type NodePlan,
  type RetryPolicy,
  type SagaPlan,
  type StepPlan,
} from "../core/plan.js";

/** What a step's action, compensation and condition see. */
export interface StepContext<TInput = Json, TResults = AnyResults> extends StepDirectives {
  sagaId: string;
  sagaName: string;
  tenantId: string;
  /** The saga's input, as given to `start`. */
  input: TInput;
  /** Return values of the steps completed so far, by step name. */
  results: TResults;
  /** The step this call belongs to. */
  step: string;
  /** 1 for the first attempt, 2 for the first retry… (of the compensation, in a compensation). */
  attempt: number;
  /**
   * Identical on every attempt of this step, also after a crash: `sagaId:step` for the action,
   * `sagaId:step:compensate` for the compensation. Send it to downstream services so that an
   * effect repeated by a retry happens once.
   */
  idempotencyKey: string;
  /** Aborted when the attempt times out, the saga is cancelled or times out, or a sibling branch fails. */
  signal: AbortSignal;
  /** The correlation id of the request that started the saga (for your logs and outgoing calls). */
  correlationId: string | null;
  /**
   * Starts a child saga (idempotent: `sagaId:step` is its key) and returns the directive that
   * suspends this step until the child ends. The step's result is `{ sagaId, status, results }`;
   * a child that does not complete fails the step (SAGA_CHILD_FAILED).
   * @example action: (ctx) => ctx.startChild("airtable_integration", { baseId: ctx.input.baseId })
   */
  startChild(type: string, input: Json, options?: { version?: number }): Promise<Suspend>;
  /** Undoes a completed child saga (its compensations, in reverse) and waits until that is done. */
  compensateChild(sagaId: string): Promise<void>;
}

// A saga's results are whatever its steps returned; the definition's type parameter narrows it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyResults = Record<string, any>;

export interface StepCallOptions {
  signal: AbortSignal;
}

export type StepFunction<TInput, TResults> = (
  ctx: StepContext<TInput, TResults>,
  options: StepCallOptions,
) => unknown;

export interface StepDefinition<TInput = Json, TResults = AnyResults> {
  name: string;
  /**
   * The step. Runs at least once; its JSON return value is stored under `results[name]`.
   * Throw a `TerminalError` (or an error with `retryable: false`) to give up without retrying.
   */
  action: StepFunction<TInput, TResults>;
  /** Undoes the step; runs only if the action completed and the saga then fails. */
  compensate?: StepFunction<TInput, TResults>;
  /** Evaluated once when the saga reaches the step; false skips it (and its compensation). */
  when?: (
    ctx: Omit<
      StepContext<TInput, TResults>,
      "signal" | "attempt" | "idempotencyKey" | keyof StepDirectives
    >,
  ) => boolean;
  /** Time limit of one attempt; on expiry the signal is aborted and the attempt counts as failed. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  compensationTimeoutMs?: number;
  compensationRetry?: Partial<RetryPolicy>;
}

/** Branches that run at the same time; the saga goes on when all of them completed. */
export interface ParallelDefinition<TInput = Json, TResults = AnyResults> {
  name: string;
  parallel: StepDefinition<TInput, TResults>[];
}

export interface SagaDefinitionInput<TInput = Json, TResults = AnyResults> {
  name: string;
  /** Instances are pinned to the version they started with. Default 1. */
  version?: number;
  /** Deadline of the whole saga; when it passes, the saga stops and compensates. */
  timeoutMs?: number;
  /** `compensate` (default) or `pause`: stay `failed` for an operator to `retry` or `cancel`. */
  onFailure?: FailurePolicy;
  /**
   * Lost attempts in a row (the worker died while running the step or its compensation) after
   * which the step fails for good with `SAGA_CRASH_LOOP`. A lost attempt is re-run and does not
   * use the retry budget. Default 5.
   */
  crashLoopLimit?: number;
  /** Defaults for every step's `retry` (and compensations' `compensationRetry`). */
  retry?: Partial<RetryPolicy>;
  /** Default per-attempt time limit of every step. */
  stepTimeoutMs?: number;
  /**
   * Business keys to record at start for search (`GET /sagas/?orderId=…`): string, number or
   * boolean values, computed from the input. Throwing or returning anything else fails the start.
   */
  attributes?: (input: TInput) => Record<string, string | number | boolean | null | undefined>;
  /** Domain events that start this saga; `input` maps the event to the saga's input. */
  triggers?: readonly SagaTrigger[];
  steps: (StepDefinition<TInput, TResults> | ParallelDefinition<TInput, TResults>)[];
}

/** A domain event type that starts a saga (idempotently: the event id is the idempotency key). */
export interface SagaTrigger {
  event: string;
  input: (event: BusMessage) => Json;
}

/** A validated saga definition: the plan core decides on, and the functions the engine calls. */
export interface SagaDefinition<TInput = Json, TResults = AnyResults> {
  readonly name: string;
  readonly version: number;
  readonly plan: SagaPlan;
  readonly steps: ReadonlyMap<string, StepDefinition<TInput, TResults>>;
  readonly triggers: readonly SagaTrigger[];
  readonly attributes:
    ((input: TInput) => Record<string, string | number | boolean | null | undefined>) | undefined;
}

/**
 * Defines a saga. Throws `SagaError` (`SAGA_INVALID_DEFINITION`) listing every problem found.
 * @example
 * const onboarding = defineSaga<{ email: string }>({
 *   name: "user_onboarding",
 *   steps: [
 *     { name: "create_profile", action: (ctx) => users.create(ctx.input.email, ctx.idempotencyKey),
 *       compensate: (ctx) => users.delete(ctx.results.create_profile.id) },
 *     { name: "send_welcome", action: (ctx) => mail.send(ctx.input.email) },
 *   ],
 * });
 */
export function defineSaga<TInput = Json, TResults = AnyResults>(
  input: SagaDefinitionInput<TInput, TResults>,
): SagaDefinition<TInput, TResults> {
  const problems: string[] = [];
  const steps = new Map<string, StepDefinition<TInput, TResults>>();
  const defaultRetry = { ...DEFAULT_RETRY_POLICY, ...input.retry };

  const stepPlan = (step: StepDefinition<TInput, TResults>, path: string): StepPlan => {
    if (typeof step.action !== "function") problems.push(`${path}.action: must be a function`);
    if (step.compensate !== undefined && typeof step.compensate !== "function")
      problems.push(`${path}.compensate: must be a function`);
    if (step.when !== undefined && typeof step.when !== "function")
      problems.push(`${path}.when: must be a function`);
    steps.set(step.name, step);
    const timeoutMs = step.timeoutMs ?? input.stepTimeoutMs ?? null;
    return {
      name: step.name,
      timeoutMs,
      retry: { ...defaultRetry, ...step.retry },
      compensable: typeof step.compensate === "function",
      compensationTimeoutMs: step.compensationTimeoutMs ?? timeoutMs,
      compensationRetry: { ...defaultRetry, ...step.compensationRetry },
      conditional: typeof step.when === "function",
    };
  };

  const nodes: NodePlan[] = (Array.isArray(input.steps) ? input.steps : []).map(
    (node, i): NodePlan => {
      if ("parallel" in node) {
        const branches = Array.isArray(node.parallel) ? node.parallel : [];
        return {
          kind: "parallel",
          name: node.name,
          branches: branches.map((b, j) => stepPlan(b, `steps[${i}].parallel[${j}]`)),
        };
      }
      return { kind: "step", step: stepPlan(node, `steps[${i}]`) };
    },
  );

  const plan: SagaPlan = {
    name: input.name,
    version: input.version ?? 1,
    timeoutMs: input.timeoutMs ?? null,
    onFailure: input.onFailure ?? "compensate",
    ...(input.crashLoopLimit !== undefined ? { crashLoopLimit: input.crashLoopLimit } : {}),
    nodes,
  };
  if (input.attributes !== undefined && typeof input.attributes !== "function")
    problems.push(`attributes: must be a function of the input`);
  if (plan.onFailure !== "compensate" && plan.onFailure !== "pause")
    problems.push(`onFailure: must be "compensate" or "pause"`);
  problems.push(...validatePlan(plan));
  if (problems.length > 0) {
    // Only durations above their maximum: say so by the code (the definition is otherwise fine).
    const tooLong = problems.every((p) => p.includes(TOO_LONG));
    throw invalidInput(
      `invalid saga definition ${JSON.stringify(input.name)}: ${problems.join("; ")}`,
      {
        code: tooLong ? ErrorCodes.SAGA_DURATION_TOO_LONG : ErrorCodes.SAGA_INVALID_DEFINITION,
        details: problems,
      },
    );
  }
  return {
    name: plan.name,
    version: plan.version,
    plan,
    steps,
    attributes: input.attributes,
    triggers: input.triggers ?? [],
  };
}
