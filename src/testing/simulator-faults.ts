import type { Json, JsonObject } from "../core/json.js";
import { SIMULATED_SERVICES, type SimulatedService } from "./simulator-routes.js";

/**
 * Makes a route of the simulator fail. A request matches when its service and path match (the
 * route pattern, e.g. `/bases/:baseId/webhooks`, or the concrete path), its method matches (any
 * when omitted) and its JSON body holds every `match` value.
 * @example { service: "airtable", method: "POST", path: "/bases", status: 503, times: "always",
 *            match: { owner_id: "u-3" } }
 */
export interface FailureRule {
  service: SimulatedService;
  method?: string;
  path: string;
  /** The status answered. Default 503. */
  status?: number;
  /** How many matching requests fail. Default 1. */
  times?: number | "always";
  /**
   * `before` (default): answered instead of the effect. `after`: the effect happens (and is
   * remembered under the Idempotency-Key) but the answer is lost — the failure is sent instead.
   */
  when?: "before" | "after";
  /** Top-level values the request's JSON body must hold for the rule to apply. */
  match?: JsonObject;
  /** Sent as `Retry-After` (seconds). */
  retryAfterSeconds?: number;
  /** The error body echoes the request's headers and body, like a careless service would. */
  echoRequest?: boolean;
}

export interface ActiveRule extends Required<Pick<FailureRule, "status" | "when">> {
  id: string;
  rule: FailureRule;
  remaining: number; // Infinity for "always"
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Problems of a rule sent to the control API (empty: valid). */
export function failureRuleProblems(raw: unknown): string[] {
  if (!isObject(raw)) return ["the rule must be a JSON object"];
  const problems: string[] = [];
  const known = new Set([
    "service",
    "method",
    "path",
    "status",
    "times",
    "when",
    "match",
    "retryAfterSeconds",
    "echoRequest",
  ]);
  for (const key of Object.keys(raw)) if (!known.has(key)) problems.push(`${key}: unknown field`);
  if (!SIMULATED_SERVICES.includes(raw.service as SimulatedService))
    problems.push(`service: one of ${SIMULATED_SERVICES.join(", ")}`);
  if (typeof raw.path !== "string" || !raw.path.startsWith("/"))
    problems.push("path: a path starting with /");
  if (raw.method !== undefined && typeof raw.method !== "string") problems.push("method: a string");
  if (
    raw.status !== undefined &&
    (!Number.isInteger(raw.status) || (raw.status as number) < 400 || (raw.status as number) > 599)
  )
    problems.push("status: an integer from 400 to 599");
  if (
    raw.times !== undefined &&
    raw.times !== "always" &&
    (!Number.isInteger(raw.times) || (raw.times as number) < 1)
  )
    problems.push('times: a positive integer or "always"');
  if (raw.when !== undefined && raw.when !== "before" && raw.when !== "after")
    problems.push('when: "before" or "after"');
  if (raw.match !== undefined && !isObject(raw.match)) problems.push("match: an object");
  if (
    raw.retryAfterSeconds !== undefined &&
    (!Number.isInteger(raw.retryAfterSeconds) || (raw.retryAfterSeconds as number) < 0)
  )
    problems.push("retryAfterSeconds: a non-negative integer");
  if (raw.echoRequest !== undefined && typeof raw.echoRequest !== "boolean")
    problems.push("echoRequest: a boolean");
  return problems;
}

export function activate(id: string, rule: FailureRule): ActiveRule {
  return {
    id,
    rule: { ...rule },
    status: rule.status ?? 503,
    when: rule.when ?? "before",
    remaining: rule.times === "always" ? Infinity : (rule.times ?? 1),
  };
}

/** Whether a rule applies to a request (`pattern`: the matched route's, if any). */
export function ruleMatches(
  active: ActiveRule,
  request: { service: string; method: string; path: string; pattern: string | null; body: Json },
): boolean {
  const { rule } = active;
  if (active.remaining <= 0 || rule.service !== request.service) return false;
  if (rule.method !== undefined && rule.method.toUpperCase() !== request.method) return false;
  if (rule.path !== request.path && rule.path !== request.pattern) return false;
  if (rule.match === undefined) return true;
  const body = request.body;
  if (!isObject(body)) return false;
  return Object.entries(rule.match).every(
    ([key, value]) => JSON.stringify(body[key]) === JSON.stringify(value),
  );
}

/** The response of a rule that fired. */
export function failureResponse(
  active: ActiveRule,
  request: { headers: Readonly<Record<string, string | undefined>>; body: Json },
): { status: number; headers: Record<string, string>; body: JsonObject } {
  const body: JsonObject = {
    error: { code: "SIMULATED_FAILURE", message: `simulated ${active.status} (rule ${active.id})` },
  };
  if (active.rule.echoRequest) {
    const headers: JsonObject = {};
    for (const [name, value] of Object.entries(request.headers))
      if (value !== undefined) headers[name] = value;
    body.request = { headers, body: request.body };
  }
  return {
    status: active.status,
    headers:
      active.rule.retryAfterSeconds === undefined
        ? {}
        : { "retry-after": String(active.rule.retryAfterSeconds) },
    body,
  };
}
