import { ErrorCodes, errorInfo, toErrorInfo, type ErrorInfo } from "../core/errors.js";
import type { OutboxMessage, WaitSpec } from "../core/events.js";
import { toJson, type Json } from "../core/json.js";
import { Emit, Suspend } from "./directives.js";

export type AttemptOutcome =
  | { kind: "ok"; result: Json; publish?: OutboxMessage[] }
  | { kind: "suspend"; until: number | null; wait: WaitSpec | null }
  | { kind: "error"; error: ErrorInfo }
  | { kind: "aborted"; reason: unknown };

/**
 * Runs one attempt and always settles promptly: when the function settles, when its time limit
 * passes (its signal is aborted; a function that ignores the signal is left behind and its late
 * result discarded), or when `stop` aborts from outside (cancel, deadline, sibling failure, lease
 * lost). Throws of non-Errors and non-JSON results become recorded errors, never a crash.
 */
export function runAttempt(
  fn: (signal: AbortSignal) => unknown,
  options: { timeoutMs: number | null; stop: AbortSignal; timeoutCode: string },
): Promise<AttemptOutcome> {
  const controller = new AbortController();
  return new Promise<AttemptOutcome>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (outcome: AttemptOutcome, abortReason?: unknown) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      options.stop.removeEventListener("abort", onStop);
      if (abortReason !== undefined) controller.abort(abortReason);
      resolve(outcome);
    };
    const onStop = () =>
      settle({ kind: "aborted", reason: options.stop.reason }, options.stop.reason);
    if (options.stop.aborted) return onStop();
    options.stop.addEventListener("abort", onStop, { once: true });
    if (options.timeoutMs !== null) {
      const ms = options.timeoutMs;
      timer = setTimeout(() => {
        const error = errorInfo(options.timeoutCode, `attempt timed out after ${ms} ms`, true);
        settle({ kind: "error", error }, new Error(error.message));
      }, ms);
    }
    let pending: unknown;
    try {
      pending = fn(controller.signal);
    } catch (thrown) {
      return settle({ kind: "error", error: toErrorInfo(thrown) });
    }
    Promise.resolve(pending).then(
      (value) => {
        if (value instanceof Suspend)
          return settle({ kind: "suspend", until: value.until, wait: value.wait });
        const emitted = value instanceof Emit ? value : null;
        const json = toJson(emitted ? emitted.result : value);
        const messages = emitted ? toJson(emitted.messages) : null;
        if (messages && !messages.ok) {
          return settle({
            kind: "error",
            error: errorInfo(
              ErrorCodes.STEP_RESULT_NOT_JSON,
              `a published event is not JSON: ${messages.problem} at ${messages.path}`,
              false,
            ),
          });
        }
        if (json.ok) {
          return settle(
            emitted
              ? { kind: "ok", result: json.value, publish: [...emitted.messages] }
              : { kind: "ok", result: json.value },
          );
        }
        settle({
          kind: "error",
          error: errorInfo(
            ErrorCodes.STEP_RESULT_NOT_JSON,
            `the step returned a value that is not JSON: ${json.problem} at ${json.path}`,
            false,
          ),
        });
      },
      (thrown: unknown) => settle({ kind: "error", error: toErrorInfo(thrown) }),
    );
  });
}
