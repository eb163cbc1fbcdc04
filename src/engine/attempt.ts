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
 * The abort signal of one attempt, made only when the step reads it: most steps never do, and an
 * AbortController per attempt is a measurable share of the engine's CPU under load.
 */
export class LazyAbort {
  private controller: AbortController | null = null;
  private aborted = false;
  private reason: unknown;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/** An attempt under way: its outcome, and how to stop it from outside. */
export interface RunningAttempt {
  readonly outcome: Promise<AttemptOutcome>;
  /** Cancel, deadline, sibling failure, lease lost: settles as aborted, aborts the step's signal. */
  readonly stop: (reason: unknown) => void;
}

/**
 * Runs one attempt and always settles promptly: when the function settles, when its time limit
 * passes (its signal is aborted; a function that ignores the signal is left behind and its late
 * result discarded), or when it is stopped from outside. Throws of non-Errors and non-JSON
 * results become recorded errors, never a crash.
 */
export function runAttempt(
  fn: (abort: LazyAbort) => unknown,
  options: { timeoutMs: number | null; timeoutCode: string },
): RunningAttempt {
  const abort = new LazyAbort();
  let stop: (reason: unknown) => void = () => undefined;
  const outcome = new Promise<AttemptOutcome>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (outcome: AttemptOutcome, abortReason?: unknown) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (abortReason !== undefined) abort.abort(abortReason);
      resolve(outcome);
    };
    stop = (reason) => settle({ kind: "aborted", reason }, reason);
    if (options.timeoutMs !== null) {
      const ms = options.timeoutMs;
      timer = setTimeout(() => {
        const error = errorInfo(options.timeoutCode, `attempt timed out after ${ms} ms`, true);
        settle({ kind: "error", error }, new Error(error.message));
      }, ms);
    }
    let pending: unknown;
    try {
      pending = fn(abort);
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
  return { outcome, stop: (reason) => stop(reason) };
}
