/**
 * The mixed workload: saga definitions every chaos worker registers (same names and versions), and
 * the choice of one saga's shape from its key, so the checker knows what each saga should end as.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  defineSaga,
  TerminalError,
  type Json,
  type SagaDefinition,
  type StepContext,
} from "../../src/index.js";
import { hash32 } from "./rng.js";

export const Kinds = ["seq", "group", "timer", "event", "parent"] as const;
export type Kind = (typeof Kinds)[number];

export const EVENT_TYPE = "chaos.go";

/** What a saga is asked to do: the checker derives the expected outcome from it. */
export interface ChaosInput {
  [key: string]: Json;
  key: string;
  kind: Kind;
  /** The forward step that fails for good (no effect), or null. */
  failAt: string | null;
  /** For `timer`: the durable sleep. */
  sleepMs: number;
}

export const STEPS: Record<Kind, { forward: string[]; compensable: string[] }> = {
  seq: { forward: ["s1", "s2", "s3", "s4"], compensable: ["s1", "s2", "s3", "s4"] },
  group: { forward: ["s1", "b1", "b2", "b3", "s4"], compensable: ["s1", "b1", "b2", "b3", "s4"] },
  timer: { forward: ["s1", "wait", "s3"], compensable: ["s1", "s3"] },
  event: { forward: ["s1", "w", "s3"], compensable: ["s1", "s3"] },
  parent: { forward: ["s1", "child", "s3"], compensable: ["s1", "s3"] },
};

/** The saga a start key asks for (a function of the key: a seed replays the same workload). */
export function inputFor(key: string, failRate: number): ChaosInput {
  const h = hash32(key);
  const kind = Kinds[h % Kinds.length]!;
  const effectSteps = STEPS[kind].compensable;
  const fails = (h >>> 8) % 1000 < failRate * 1000;
  const failAt = fails ? effectSteps[(h >>> 20) % effectSteps.length]! : null;
  return { key, kind, failAt, sleepMs: 500 + ((h >>> 4) % 2_500) };
}

export interface EffectBody {
  [key: string]: Json;
  user_id: string;
  template: string;
  sagaId: string;
  step: string;
  phase: "do" | "undo";
  attempt: number;
  worker: string;
  /** Epoch ms in the calling process when the call left. */
  sentAt: number;
}

export type EffectCall = (ctx: StepContext, phase: "do" | "undo") => Promise<void>;

/** POSTs an effect to the downstream simulator with the step's idempotency key. */
export function effectCaller(simulatorUrl: string, worker: string): EffectCall {
  return async (ctx, phase) => {
    const body: EffectBody = {
      user_id: ctx.sagaId,
      template: `${ctx.step}:${phase}`,
      sagaId: ctx.sagaId,
      step: ctx.step,
      phase,
      attempt: ctx.attempt,
      worker,
      sentAt: Date.now(),
    };
    const response = await fetch(`${simulatorUrl}/notification/notifications`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": ctx.idempotencyKey },
      body: JSON.stringify(body),
      signal: ctx.signal,
    });
    await response.arrayBuffer();
    if (response.status >= 300) throw new Error(`simulator answered ${response.status}`);
  };
}

export interface WorkloadOptions {
  effect: EffectCall;
  /** Work time of a step after its effect, in ms: [min, max]. */
  workMs: [number, number];
  /** Told when a step or compensation begins (markers for targeted kills). */
  onStep?: (ctx: StepContext, phase: "do" | "undo") => void;
  crashLoopLimit?: number;
}

const RETRY = { maxAttempts: 3, initialDelayMs: 100, backoff: 2, maxDelayMs: 2_000, jitter: 0.2 };

/** The five chaos sagas. */
export function chaosSagas(options: WorkloadOptions): SagaDefinition[] {
  const [min, max] = options.workMs;
  const work = (signal: AbortSignal) =>
    sleep(min + Math.random() * (max - min), undefined, { signal });
  const action = async (ctx: StepContext<ChaosInput>) => {
    options.onStep?.(ctx, "do");
    if (ctx.input.failAt === ctx.step) throw new TerminalError(`${ctx.step} declined`);
    await options.effect(ctx, "do");
    await work(ctx.signal);
    return { step: ctx.step };
  };
  const compensation = async (ctx: StepContext<ChaosInput>) => {
    options.onStep?.(ctx, "undo");
    await options.effect(ctx, "undo");
    await work(ctx.signal);
  };
  const step = (name: string) => ({ name, action, compensate: compensation, retry: RETRY });
  const common = {
    retry: RETRY,
    ...(options.crashLoopLimit !== undefined ? { crashLoopLimit: options.crashLoopLimit } : {}),
  };
  return [
    defineSaga<ChaosInput>({
      ...common,
      name: "chaos_seq",
      steps: ["s1", "s2", "s3", "s4"].map(step),
    }),
    defineSaga<ChaosInput>({
      ...common,
      name: "chaos_group",
      steps: [step("s1"), { name: "g", parallel: ["b1", "b2", "b3"].map(step) }, step("s4")],
    }),
    defineSaga<ChaosInput>({
      ...common,
      name: "chaos_timer",
      steps: [
        step("s1"),
        { name: "wait", action: (ctx) => ctx.sleep(ctx.input.sleepMs) },
        step("s3"),
      ],
    }),
    defineSaga<ChaosInput>({
      ...common,
      name: "chaos_event",
      steps: [
        step("s1"),
        {
          name: "w",
          action: (ctx) =>
            ctx.waitForEvent(EVENT_TYPE, {
              path: "data.key",
              equals: ctx.input.key,
              timeoutMs: 600_000,
            }),
        },
        step("s3"),
      ],
    }),
    defineSaga<ChaosInput>({
      ...common,
      name: "chaos_parent",
      steps: [
        step("s1"),
        {
          name: "child",
          action: (ctx) =>
            ctx.startChild("chaos_seq", {
              key: `${ctx.input.key}:child`,
              kind: "seq",
              failAt: null,
              sleepMs: 0,
            }),
        },
        step("s3"),
      ],
    }),
  ] as unknown as SagaDefinition[];
}

export const sagaName = (kind: Kind): string => `chaos_${kind}`;
