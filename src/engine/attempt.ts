import { ErrorCodes, errorInfo, jsonProblemCode, toErrorInfo } from "../core/errors.js";
import type { AttemptOutcome } from "../core/outcome.js";
import { toJson } from "../core/json.js";
import { Limits } from "../core/limits.js";
import { Emit, Suspend } from "./directives.js";
import { setLongTimeout, type LongTimer, type TimerFunctions } from "./long-timer.js";

export type { AttemptOutcome };

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
  options: {
    timeoutMs: number | null;
    timeoutCode: string;
    /** Largest result (serialised UTF-8 bytes). Default `Limits.DEFAULT_MAX_STEP_RESULT_BYTES`. */
    maxResultBytes?: number;
    /** Timer functions (tests inject their own to check long timeouts without waiting). */
    timers?: TimerFunctions;
  },
): RunningAttempt {
  const abort = new LazyAbort();
  let stop: (reason: unknown) => void = () => undefined;
  const outcome = new Promise<AttemptOutcome>((resolve) => {
    let settled = false;
    let timer: LongTimer | undefined;
    const settle = (outcome: AttemptOutcome, abortReason?: unknown) => {
      if (settled) return;
      settled = true;
      timer?.clear();
      if (abortReason !== undefined) abort.abort(abortReason);
      resolve(outcome);
    };
    stop = (reason) => settle({ kind: "aborted", reason }, reason);
    if (options.timeoutMs !== null) {
      const ms = options.timeoutMs;
      // Chained past 2^31 ms: a plain setTimeout would fire at once (every attempt "timed out").
      timer = setLongTimeout(
        () => {
          const error = errorInfo(options.timeoutCode, `attempt timed out after ${ms} ms`, true);
          settle({ kind: "error", error }, new Error(error.message));
        },
        ms,
        options.timers,
      );
    }
    let pending: unknown;
    try {
      pending = fn(abort);
    } catch (thrown) {
      return settle({ kind: "error", error: toErrorInfo(thrown) });
    }
    Promise.resolve(pending).then(
      (value) => {
        try {
          settle(outcomeOf(value, options.maxResultBytes ?? Limits.DEFAULT_MAX_STEP_RESULT_BYTES));
        } catch (thrown) {
          // A toJSON that throws, a getter that throws…: that attempt's error, never a crash.
          settle({ kind: "error", error: toErrorInfo(thrown) });
        }
      },
      (thrown: unknown) => settle({ kind: "error", error: toErrorInfo(thrown) }),
    );
  });
  return { outcome, stop: (reason) => stop(reason) };
}

/** The outcome of a step's return value: suspend, or its result (and events) checked as JSON. */
function outcomeOf(value: unknown, maxResultBytes: number): AttemptOutcome {
  if (value instanceof Suspend) return { kind: "suspend", until: value.until, wait: value.wait };
  const emitted = value instanceof Emit ? value : null;
  if (emitted) {
    for (const [i, m] of emitted.messages.entries()) {
      const data = toJson(m.data, { maxBytes: Limits.DEFAULT_MAX_EVENT_DATA_BYTES });
      if (!data.ok) {
        const code =
          data.kind === "too_large"
            ? ErrorCodes.EVENT_TOO_LARGE
            : jsonProblemCode(data.kind, ErrorCodes.STEP_RESULT_NOT_JSON);
        return refused(code, `published event ${i} is refused: ${data.problem} at ${data.path}`);
      }
    }
    const messages = toJson(emitted.messages);
    if (!messages.ok) {
      return refused(
        jsonProblemCode(messages.kind, ErrorCodes.STEP_RESULT_NOT_JSON),
        `a published event is not JSON: ${messages.problem} at ${messages.path}`,
      );
    }
  }
  const json = toJson(emitted ? emitted.result : value, { maxBytes: maxResultBytes });
  if (!json.ok) {
    const code =
      json.kind === "too_large"
        ? ErrorCodes.STEP_RESULT_TOO_LARGE
        : jsonProblemCode(json.kind, ErrorCodes.STEP_RESULT_NOT_JSON);
    const what = json.kind === "not_json" ? "a value that is not JSON" : "a value refused";
    return refused(code, `the step returned ${what}: ${json.problem} at ${json.path}`);
  }
  return emitted
    ? { kind: "ok", result: json.value, publish: [...emitted.messages] }
    : { kind: "ok", result: json.value };
}

/** A terminal error: retrying the same step gives the same refused value. */
function refused(code: string, message: string): AttemptOutcome {
  return { kind: "error", error: errorInfo(code, message, false) };
}
