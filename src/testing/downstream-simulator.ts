import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Json, JsonObject } from "../core/json.js";
import {
  activate,
  failureResponse,
  failureRuleProblems,
  ruleMatches,
  type ActiveRule,
  type FailureRule,
} from "./simulator-faults.js";
import {
  findRoute,
  SIMULATED_SERVICES,
  World,
  type SimulatedResponse,
  type SimulatedService,
} from "./simulator-routes.js";
import { errorMessage } from "../core/errors.js";

export type { FailureRule } from "./simulator-faults.js";
export { SIMULATED_SERVICES, type SimulatedService } from "./simulator-routes.js";

/** One call the simulator received, as it answered it. */
export interface LedgerEntry {
  /** 1, 2, 3… in arrival order. */
  seq: number;
  /** `user`, `permission`, `notification`, `airtable` (or the unknown first path segment). */
  service: string;
  method: string;
  /** The path inside the service, without the query: `/users/u-1`. */
  path: string;
  /** The matched route's pattern (`/users/:userId`), null when no route matched. */
  route: string | null;
  idempotencyKey: string | null;
  correlationId: string | null;
  /** The request body: JSON, or its text when it is not JSON; null when empty. */
  body: Json;
  /** The status answered. */
  status: number;
  /** The call changed the services' state (a route with an effect ran). */
  effect: boolean;
  /** A repeated Idempotency-Key: the first answer was sent again and nothing happened. */
  replayed: boolean;
  /** The id of the failure rule that answered, if one did. */
  failedBy: string | null;
  /** ISO time of arrival. */
  at: string;
}

export interface LedgerFilter {
  service?: string;
  /** Only calls whose Idempotency-Key starts with this (e.g. `<sagaId>:`). */
  keyPrefix?: string;
}

export interface SimulatorOptions {
  /** Port on 127.0.0.1. Default 0 (any free port). */
  port?: number;
  /** When set, the Airtable connector answers 401 unless `Authorization: Bearer <token>`. */
  airtableToken?: string;
  /** Delay before each answer, in ms. Default 0. */
  latencyMs?: number;
}

export interface DownstreamSimulator {
  /** `http://127.0.0.1:<port>`; the control API is under `/_control/`. */
  readonly url: string;
  /** Base URL of each service (`<url>/user`…), for USER_SERVICE_URL, AIRTABLE_CONNECTOR_URL… */
  readonly urls: Readonly<Record<SimulatedService, string>>;
  /** The calls received so far, oldest first (copies). */
  ledger(filter?: LedgerFilter): LedgerEntry[];
  /** Adds a failure rule; returns its id. */
  fail(rule: FailureRule): string;
  /** `fail` for the next matching call only. */
  failNext(rule: Omit<FailureRule, "times">): string;
  /** Forgets failure rules, the ledger, remembered idempotency keys and every resource. */
  reset(): void;
  /** The resources the services hold now, by kind and id (e.g. `users`, `workspaces`, `bases`). */
  resources(): Record<string, Record<string, JsonObject>>;
  close(): Promise<void>;
}

interface Remembered {
  method: string;
  path: string;
  response: SimulatedResponse;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Starts one HTTP server on 127.0.0.1 that plays the user, permission, notification and Airtable
 * connector services the built-in sagas call (each under its own path prefix). It keeps a ledger
 * of every call, performs each effect once per Idempotency-Key (a repeated key gets the first
 * answer again), and fails routes on request — in process (`fail`, `failNext`) or over HTTP:
 * `POST /_control/fail` (a FailureRule), `POST /_control/reset`, `GET /_control/ledger`
 * (`?service=&key_prefix=`), `GET /_control/resources`.
 * @example
 * const sim = await startDownstreamSimulator({ airtableToken: "t" });
 * sim.fail({ service: "airtable", method: "POST", path: "/bases", status: 503, times: "always" });
 * // USER_SERVICE_URL=sim.urls.user … run sagas … then sim.ledger({ keyPrefix: `${sagaId}:` })
 */
export async function startDownstreamSimulator(
  options: SimulatorOptions = {},
): Promise<DownstreamSimulator> {
  let world = new World();
  let calls: LedgerEntry[] = [];
  let rules: ActiveRule[] = [];
  let remembered = new Map<string, Remembered>();
  let ruleCounter = 0;

  const fail = (rule: FailureRule): string => {
    const problems = failureRuleProblems(rule);
    if (problems.length > 0) throw new Error(`invalid failure rule: ${problems.join("; ")}`);
    const id = `rule-${++ruleCounter}`;
    rules.push(activate(id, rule));
    return id;
  };
  const reset = (): void => {
    world = new World();
    calls = [];
    rules = [];
    remembered = new Map();
  };
  const ledger = (filter: LedgerFilter = {}): LedgerEntry[] =>
    calls
      .filter(
        (c) =>
          (filter.service === undefined || c.service === filter.service) &&
          (filter.keyPrefix === undefined || (c.idempotencyKey ?? "").startsWith(filter.keyPrefix)),
      )
      .map((c) => ({ ...c }));

  const control = (
    method: string,
    path: string,
    query: URLSearchParams,
    body: Json,
  ): SimulatedResponse => {
    if (method === "POST" && path === "/fail") {
      const problems = failureRuleProblems(body);
      if (problems.length > 0)
        return { status: 400, body: { error: { code: "VALIDATION_ERROR", problems } } };
      return { status: 201, body: { id: fail(body as unknown as FailureRule) } };
    }
    if (method === "POST" && path === "/reset") {
      reset();
      return { status: 200, body: { reset: true } };
    }
    if (method === "GET" && path === "/ledger") {
      const filter: LedgerFilter = {};
      const service = query.get("service");
      const keyPrefix = query.get("key_prefix");
      if (service !== null) filter.service = service;
      if (keyPrefix !== null) filter.keyPrefix = keyPrefix;
      return { status: 200, body: { calls: ledger(filter) as unknown as Json } };
    }
    if (method === "GET" && path === "/resources") return { status: 200, body: world.snapshot() };
    return { status: 404, body: { error: { code: "NOT_FOUND", message: "no such control" } } };
  };

  const serve = async (
    request: IncomingMessage,
    text: string,
  ): Promise<{ status: number; headers?: Record<string, string>; body?: Json }> => {
    const url = new URL(request.url ?? "/", "http://simulator");
    const method = (request.method ?? "GET").toUpperCase();
    const [first = "", ...rest] = url.pathname.split("/").slice(1);
    const path = `/${rest.join("/")}`;
    const parsed = parseBody(text, request.headers["content-type"]);
    if (first === "_control") return control(method, path, url.searchParams, parsed.body);
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));

    const header = (name: string): string | null => {
      const value = request.headers[name];
      return typeof value === "string" ? value : null;
    };
    const found = findRoute(first, method, path);
    const entry: LedgerEntry = {
      seq: calls.length + 1,
      service: first,
      method,
      path,
      route: found?.route.pattern ?? null,
      idempotencyKey: header("idempotency-key"),
      correlationId: header("x-correlation-id"),
      body: parsed.body,
      status: 0,
      effect: false,
      replayed: false,
      failedBy: null,
      at: new Date().toISOString(),
    };
    calls.push(entry);
    const answer = (response: {
      status: number;
      headers?: Record<string, string>;
      body?: Json;
    }) => {
      entry.status = response.status;
      return response;
    };
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(request.headers))
      headers[name] = Array.isArray(value) ? value.join(", ") : value;
    const target = { service: first, method, path, pattern: entry.route, body: parsed.body };
    const fired = (when: "before" | "after") => {
      const rule = rules.find((r) => r.when === when && ruleMatches(r, target));
      if (!rule) return null;
      rule.remaining--;
      entry.failedBy = rule.id;
      return failureResponse(rule, { headers, body: parsed.body });
    };

    if (!(SIMULATED_SERVICES as readonly string[]).includes(first))
      return answer(problem(404, "NOT_FOUND", `no service ${first}`));
    if (
      first === "airtable" &&
      options.airtableToken !== undefined &&
      header("authorization") !== `Bearer ${options.airtableToken}`
    )
      return answer(problem(401, "UNAUTHORIZED", "a valid Airtable token is required"));
    const before = fired("before");
    if (before) return answer(before);
    if (!parsed.ok) return answer(problem(400, "INVALID_JSON", "the body is not valid JSON"));
    if (!found) return answer(problem(404, "NOT_FOUND", `no route ${method} ${path}`));

    const key = found.route.effect ? entry.idempotencyKey : null;
    const slot = key === null ? null : `${first}\u0000${key}`;
    const earlier = slot === null ? undefined : remembered.get(slot);
    let response: SimulatedResponse;
    if (earlier) {
      if (earlier.method !== method || earlier.path !== path)
        return answer(
          problem(422, "IDEMPOTENCY_KEY_REUSED", `key ${key} was used for another request`),
        );
      entry.replayed = true;
      response = earlier.response;
    } else {
      response = found.route.handle({ params: found.params, body: parsed.body, headers }, world);
      entry.effect = found.route.effect && response.status < 400;
      if (slot !== null && response.status < 500)
        remembered.set(slot, { method, path, response: structuredClone(response) });
    }
    const after = fired("after");
    if (after) return answer(after);
    return answer(response);
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on("end", () => {
      const reply = (out: { status: number; headers?: Record<string, string>; body?: Json }) => {
        const body = out.status === 204 || out.body === undefined ? "" : JSON.stringify(out.body);
        response.writeHead(out.status, {
          ...(body === "" ? {} : { "content-type": "application/json" }),
          ...out.headers,
        });
        response.end(body);
      };
      if (size > MAX_BODY_BYTES) {
        reply(problem(413, "TOO_LARGE", "the body is larger than 1 MiB"));
        return;
      }
      serve(request, Buffer.concat(chunks).toString("utf8")).then(reply, (error: unknown) =>
        reply(problem(500, "SIMULATOR_ERROR", errorMessage(error))),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const urls = Object.fromEntries(SIMULATED_SERVICES.map((s) => [s, `${url}/${s}`])) as Record<
    SimulatedService,
    string
  >;
  let closed: Promise<void> | null = null;
  return {
    url,
    urls,
    ledger,
    fail,
    failNext: (rule) => fail({ ...rule, times: 1 }),
    reset,
    resources: () => world.snapshot(),
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

function problem(status: number, code: string, message: string): SimulatedResponse {
  return { status, body: { error: { code, message } } };
}

function parseBody(text: string, contentType: string | undefined): { ok: boolean; body: Json } {
  if (text === "") return { ok: true, body: null };
  if (!/^application\/([\w.+-]*\+)?json\b/i.test(contentType ?? ""))
    return { ok: true, body: text };
  try {
    return { ok: true, body: JSON.parse(text) as Json };
  } catch {
    return { ok: false, body: text };
  }
}
