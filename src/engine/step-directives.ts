import { createHash } from "node:crypto";
import type { SagaError } from "../core/errors.js";
import { ErrorCodes, invalidInput } from "../core/errors.js";
import type { Json } from "../core/json.js";
import { Limits, durationProblem } from "../core/limits.js";
import { Emit, Suspend } from "./directives.js";

export interface StepDirectives {
  /**
   * Return this from a step to wait `ms` durably: no worker is held, and the wait survives
   * restarts. The step completes (result null) when the time is up.
   * @example action: (ctx) => ctx.sleep(60_000)
   */
  sleep(ms: number): Suspend;
  /**
   * Return this from a step to wait for an event of `type` whose value at `path` equals `equals`
   * (delivered by the bus or `POST /events/publish`). The step's result is the event. Without it
   * before `timeoutMs`, the step fails for good with SAGA_WAIT_TIMEOUT.
   * @example action: (ctx) => ctx.waitForEvent("payment.confirmed", { path: "data.orderId", equals: ctx.input.orderId, timeoutMs: 3_600_000 })
   */
  waitForEvent(
    type: string,
    match: { path: string; equals: string | number | boolean; timeoutMs?: number },
  ): Suspend;
  /**
   * Return this from a step to publish events through the outbox, in the same commit as the step's
   * completion. Event ids are stable per step, so a retried step publishes the same ids.
   */
  emit(events: readonly { type: string; data: Json; key?: string | null }[], result?: Json): Emit;
}

/**
 * The directive helpers of one step (put on its context); `now` is what their deadlines count
 * from (the engine passes the latest the time may be, so that they never end early).
 */
export function stepDirectives(sagaId: string, step: string, now: () => number): StepDirectives {
  return {
    sleep(ms) {
      if (!(ms >= 0) || !Number.isFinite(ms))
        throw invalidInput(`sleep needs a finite number of ms >= 0 (got ${ms})`);
      if (ms > Limits.MAX_DURATION_MS) throw tooLong("sleep", ms);
      return new Suspend(now() + ms, null);
    },
    waitForEvent(type, match) {
      if (!type || !match.path) throw invalidInput("waitForEvent needs an event type and a path");
      const timeout = match.timeoutMs;
      if (timeout !== undefined) {
        if (!(timeout >= 0) || !Number.isFinite(timeout))
          throw invalidInput(`waitForEvent needs a finite timeoutMs >= 0 (got ${timeout})`);
        if (timeout > Limits.MAX_DURATION_MS) throw tooLong("waitForEvent timeoutMs", timeout);
      }
      const until = timeout === undefined ? null : now() + timeout;
      return new Suspend(until, { topic: type, path: match.path, key: String(match.equals) });
    },
    emit(events, result = null) {
      return new Emit(
        events.map((e, i) => ({
          id: stableUuid(`${sagaId}:${step}:emit:${i}`),
          type: e.type,
          key: e.key ?? sagaId,
          data: e.data,
        })),
        result,
      );
    },
  };
}

function tooLong(what: string, ms: number): SagaError {
  return invalidInput(`${what} ${durationProblem(ms, Limits.MAX_DURATION_MS)}`, {
    code: ErrorCodes.SAGA_DURATION_TOO_LONG,
  });
}

/** A UUID derived from a name (same name, same id): how retried publications keep their ids. */
export function stableUuid(name: string): string {
  const hex = createHash("sha256").update(name).digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
