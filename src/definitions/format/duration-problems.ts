import { Limits, durationProblem } from "../../core/limits.js";

type Doc = Record<string, unknown>;
const isObject = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);

/** Durations of a saga or step in seconds (maximum `Limits.MAX_DURATION_MS`). */
const SECONDS_FIELDS: readonly string[] = ["timeout_seconds", "step_timeout_seconds"];

/**
 * Durations above their documented maximum (`Limits`), as `$.path: … is longer than the maximum`:
 * saga and step timeouts, sleeps and wait timeouts (365 days), retry delays (1 day). Other
 * problems (negative, not a number) are the schema's to report.
 */
export function durationProblems(node: unknown, path: string): string[] {
  if (!isObject(node)) return [];
  const problems: string[] = [];
  const check = (value: unknown, at: string, factor: number, max: number) => {
    if (typeof value !== "number" || !(value * factor > max)) return;
    problems.push(`${at}: ${durationProblem(value * factor, max)}`);
  };
  for (const key of SECONDS_FIELDS)
    check(node[key], `${path}.${key}`, 1000, Limits.MAX_DURATION_MS);
  if (node.kind === "sleep") check(node.seconds, `${path}.seconds`, 1000, Limits.MAX_DURATION_MS);
  const retries: [unknown, string][] = [[node.retry, `${path}.retry`]];
  if (isObject(node.compensation))
    retries.push([node.compensation.retry, `${path}.compensation.retry`]);
  for (const [retry, at] of retries) {
    if (!isObject(retry)) continue;
    for (const delay of ["initial_delay_ms", "max_delay_ms"])
      check(retry[delay], `${at}.${delay}`, 1, Limits.MAX_RETRY_DELAY_MS);
  }
  return problems;
}
