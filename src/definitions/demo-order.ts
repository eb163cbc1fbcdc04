import { TerminalError } from "../core/errors.js";
import type { RetryPolicy } from "../core/plan.js";
import { defineSaga, type SagaDefinition } from "../engine/definition.js";
import { pause } from "../engine/pause.js";

/** Defaults the service applies to its sagas (SAGA_TIMEOUT_SECONDS, SAGA_RETRY_ATTEMPTS, …). */
export interface SagaDefaults {
  timeoutMs?: number;
  stepTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
}

interface DemoInput {
  order_id?: string;
  /** Step to fail for good: reserve_inventory, charge_payment or ship_order. */
  fail_at?: string;
  /** How long each step takes (default 300 ms, at most 10 s). */
  step_ms?: number;
}

/** Takes `ms`, like a call downstream; fails as soon as the step's signal aborts. */
async function work(ms: number, signal: AbortSignal): Promise<void> {
  await pause(ms, signal);
  if (signal.aborted) throw new Error("aborted");
}

/**
 * A self-contained saga to try the service with (no downstream services needed): reserve, charge,
 * ship, each taking `step_ms`; `fail_at` makes one step fail so you can watch the compensation.
 * @example curl -XPOST localhost:8008/sagas/start -H 'content-type: application/json' \
 *   -d '{"saga_type":"demo_order","input":{"order_id":"o-1","fail_at":"ship_order"}}'
 */
export function demoOrderSaga(defaults: SagaDefaults = {}): SagaDefinition<DemoInput> {
  const step = (name: string, undo: string) => ({
    name,
    action: async (
      ctx: { input: DemoInput; idempotencyKey: string },
      { signal }: { signal: AbortSignal },
    ) => {
      await work(Math.min(10_000, Math.max(0, ctx.input.step_ms ?? 300)), signal);
      if (ctx.input.fail_at === name) throw new TerminalError(`${name} failed (asked by fail_at)`);
      return { done: name, key: ctx.idempotencyKey };
    },
    compensate: async (_ctx: unknown, { signal }: { signal: AbortSignal }) => {
      await work(50, signal);
      return { undone: undo };
    },
  });
  return defineSaga<DemoInput>({
    name: "demo_order",
    version: 1,
    ...(defaults.timeoutMs ? { timeoutMs: defaults.timeoutMs } : {}),
    ...(defaults.stepTimeoutMs ? { stepTimeoutMs: defaults.stepTimeoutMs } : {}),
    ...(defaults.retry ? { retry: defaults.retry } : {}),
    attributes: (input) => (typeof input?.order_id === "string" ? { orderId: input.order_id } : {}),
    steps: [
      step("reserve_inventory", "release_inventory"),
      step("charge_payment", "refund_payment"),
      step("ship_order", "cancel_shipment"),
    ],
  });
}
