/**
 * Glossary
 * - saga: a business operation made of steps that must all happen, or be undone.
 * - step: one action (an async function, or an HTTP call) with an optional compensation.
 * - attempt: one execution of a step's action (or compensation); retries make more attempts.
 * - compensation: the action that undoes a completed step; compensations run in reverse
 *   completion order when the saga fails, times out or is cancelled.
 * - instance: one run of a saga definition, identified by a saga id; its history is a stream of
 *   events, and its row in the instance table is a projection of that stream.
 * - lease: the right of one worker to run an instance until an expiry time (database clock);
 *   a fencing epoch makes writes from an expired lease fail.
 * - outbox: rows written in the same transaction as a saga's state, sent to the bus afterwards.
 *
 * This file holds the structural part of a saga definition: what core needs to decide what
 * happens next. The functions (actions, compensations, conditions) live in the engine's
 * definition, which carries one of these plans.
 */

import { Limits, durationProblem } from "./limits.js";

/** How a failed attempt is retried: exponential backoff with jitter, up to `maxAttempts` attempts. */
export interface RetryPolicy {
  /** Attempts in all, the first one included (1 = no retry). */
  maxAttempts: number;
  /** Delay before the second attempt. */
  initialDelayMs: number;
  /** Multiplier of the delay for each further attempt. */
  backoff: number;
  /** Upper bound of one delay. */
  maxDelayMs: number;
  /** Fraction of the delay that is randomised (0 = none, 1 = full jitter). */
  jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  initialDelayMs: 100,
  backoff: 2,
  maxDelayMs: 30_000,
  jitter: 0.2,
};

export interface StepPlan {
  name: string;
  timeoutMs: number | null;
  retry: RetryPolicy;
  /** The step has a compensation. A step without one is left as it is when the saga unwinds. */
  compensable: boolean;
  compensationTimeoutMs: number | null;
  compensationRetry: RetryPolicy;
  /** The step has a `when` condition, evaluated once when the step is reached. */
  conditional: boolean;
}

export type NodePlan =
  { kind: "step"; step: StepPlan } | { kind: "parallel"; name: string; branches: StepPlan[] };

/** What the saga does when a forward step fails for good. */
export const FailurePolicies = {
  /** Run the compensations of the completed steps (the default). */
  compensate: "compensate",
  /** Stop in `failed` and wait for an operator: `retry` resumes forward, `cancel` compensates. */
  pause: "pause",
} as const;
export type FailurePolicy = (typeof FailurePolicies)[keyof typeof FailurePolicies];

export interface SagaPlan {
  name: string;
  version: number;
  /** Deadline of the whole saga, from its start; null = none. */
  timeoutMs: number | null;
  onFailure: FailurePolicy;
  /**
   * Lost attempts in a row (the process running the step died each time) after which the step
   * fails for good with `SAGA_CRASH_LOOP` instead of being run again. Default 5.
   */
  crashLoopLimit?: number;
  nodes: NodePlan[];
}

/** Consecutive lost attempts of one step that mean the step itself kills its worker. */
export const DEFAULT_CRASH_LOOP_LIMIT = 5;

/** The steps of one node: the step, or the branches of a parallel group. */
export function nodeSteps(node: NodePlan): StepPlan[] {
  return node.kind === "step" ? [node.step] : node.branches;
}

const stepMaps = new WeakMap<SagaPlan, ReadonlyMap<string, StepPlan>>();

/** The steps of a plan by name, made once per plan (plans are not changed once compiled). */
export function stepsByName(plan: SagaPlan): ReadonlyMap<string, StepPlan> {
  let map = stepMaps.get(plan);
  if (!map) {
    map = new Map(planSteps(plan).map((s) => [s.name, s]));
    stepMaps.set(plan, map);
  }
  return map;
}

/** All steps of a plan, in definition order (branches of a group in their order). */
export function planSteps(plan: SagaPlan): StepPlan[] {
  return plan.nodes.flatMap(nodeSteps);
}

/** Problems of a plan, as `path: message` strings; empty when it is valid. */
export function validatePlan(plan: SagaPlan): string[] {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(plan.name))
    problems.push(
      `name: must be 1-200 characters of letters, digits, _ . : - (got ${JSON.stringify(plan.name)})`,
    );
  if (!Number.isInteger(plan.version) || plan.version < 1)
    problems.push(`version: must be a positive integer (got ${String(plan.version)})`);
  const duration = (ms: number | null, path: string, max = Limits.MAX_DURATION_MS) => {
    const problem = ms === null ? null : durationProblem(ms, max, { positive: true });
    if (problem !== null) problems.push(`${path}: ${problem}`);
  };
  duration(plan.timeoutMs, "timeoutMs");
  if (
    plan.crashLoopLimit !== undefined &&
    !(Number.isInteger(plan.crashLoopLimit) && plan.crashLoopLimit >= 1)
  )
    problems.push(`crashLoopLimit: must be an integer >= 1`);
  if (plan.nodes.length === 0) problems.push(`steps: a saga needs at least one step`);
  const seen = new Set<string>();
  plan.nodes.forEach((node, i) => {
    if (node.kind === "parallel") {
      if (node.branches.length === 0)
        problems.push(`steps[${i}].parallel: needs at least one branch`);
      if (seen.has(node.name)) problems.push(`steps[${i}].name: duplicate name "${node.name}"`);
      seen.add(node.name);
    }
    const steps = nodeSteps(node);
    steps.forEach((step, j) => {
      const path = node.kind === "step" ? `steps[${i}]` : `steps[${i}].parallel[${j}]`;
      if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(step.name))
        problems.push(`${path}.name: must be 1-200 characters of letters, digits, _ . : -`);
      if (seen.has(step.name)) problems.push(`${path}.name: duplicate name "${step.name}"`);
      seen.add(step.name);
      duration(step.timeoutMs, `${path}.timeoutMs`);
      duration(step.compensationTimeoutMs, `${path}.compensationTimeoutMs`);
      problems.push(...validateRetry(step.retry, `${path}.retry`));
      problems.push(...validateRetry(step.compensationRetry, `${path}.compensationRetry`));
    });
  });
  return problems;
}

function validateRetry(policy: RetryPolicy, path: string): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1)
    problems.push(`${path}.maxAttempts: must be an integer >= 1`);
  if (!(policy.initialDelayMs >= 0)) problems.push(`${path}.initialDelayMs: must be >= 0`);
  if (!(policy.backoff >= 1)) problems.push(`${path}.backoff: must be >= 1`);
  if (!(policy.maxDelayMs >= policy.initialDelayMs))
    problems.push(`${path}.maxDelayMs: must be >= initialDelayMs`);
  for (const key of ["initialDelayMs", "maxDelayMs"] as const) {
    const problem = durationProblem(policy[key], Limits.MAX_RETRY_DELAY_MS);
    if (problem !== null && policy[key] > Limits.MAX_RETRY_DELAY_MS)
      problems.push(`${path}.${key}: ${problem}`);
  }
  if (!(policy.jitter >= 0 && policy.jitter <= 1))
    problems.push(`${path}.jitter: must be between 0 and 1`);
  return problems;
}
