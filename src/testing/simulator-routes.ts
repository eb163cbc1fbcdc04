import type { Json, JsonObject } from "../core/json.js";

/** The downstream services the built-in sagas call (`definitions/*.yaml`). */
export const SIMULATED_SERVICES = ["user", "permission", "notification", "airtable"] as const;
export type SimulatedService = (typeof SIMULATED_SERVICES)[number];

/** What a route handler answers: a status and a JSON body (none for 204). */
export interface SimulatedResponse {
  status: number;
  body?: Json;
}

export interface SimulatedRequest {
  params: Readonly<Record<string, string>>;
  /** The JSON body (or its text when it is not JSON; null when empty). */
  body: Json;
  headers: Readonly<Record<string, string | undefined>>;
}

/** The resources the simulated services hold, by kind, then by id. */
export type Resources = Record<string, Map<string, JsonObject>>;

export interface Route {
  service: SimulatedService;
  method: string;
  /** `/bases/:baseId/webhooks/:webhookId` */
  pattern: string;
  /** Whether the route changes something (and so is deduplicated by Idempotency-Key). */
  effect: boolean;
  handle(request: SimulatedRequest, world: World): SimulatedResponse;
}

/** The services' state: resources and id counters. */
export class World {
  readonly resources: Resources = {};
  private counter = 0;

  /** A new id: `prefix_<n>`. */
  id(prefix: string): string {
    this.counter++;
    return `${prefix}_${String(this.counter).padStart(4, "0")}`;
  }

  kind(kind: string): Map<string, JsonObject> {
    return (this.resources[kind] ??= new Map());
  }

  snapshot(): Record<string, Record<string, JsonObject>> {
    const out: Record<string, Record<string, JsonObject>> = {};
    for (const [kind, items] of Object.entries(this.resources))
      out[kind] = Object.fromEntries([...items].map(([id, item]) => [id, { ...item }]));
    return out;
  }
}

const isObject = (v: Json): v is JsonObject =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const text = (v: Json | undefined): v is string => typeof v === "string" && v !== "";
const now = () => new Date().toISOString();

const problem = (status: number, code: string, message: string): SimulatedResponse => ({
  status,
  body: { error: { code, message } },
});
const badRequest = (message: string) => problem(400, "VALIDATION_ERROR", message);
const notFound = (what: string) => problem(404, "NOT_FOUND", `${what} not found`);

/** Creates a resource of `kind` from a handler, answering 201 with it. */
function create(world: World, kind: string, prefix: string, fields: JsonObject): SimulatedResponse {
  const id = world.id(prefix);
  const resource: JsonObject = { id, ...fields, created_at: now() };
  world.kind(kind).set(id, resource);
  return { status: 201, body: resource };
}

/** Deletes a resource (404 when there is none). */
function remove(world: World, kind: string, id: string | undefined): SimulatedResponse {
  if (id === undefined || !world.kind(kind).delete(id)) return notFound(`${kind} ${id}`);
  return { status: 204 };
}

const route = (
  service: SimulatedService,
  method: string,
  pattern: string,
  handle: Route["handle"],
): Route => ({ service, method, pattern, effect: method !== "GET", handle });

/** The routes the built-in sagas use, per service. */
export const ROUTES: readonly Route[] = [
  // user service
  route("user", "POST", "/users", ({ body }, world) => {
    if (!isObject(body) || !text(body.id) || !text(body.email))
      return badRequest("id and email are required");
    const users = world.kind("users");
    if (users.has(body.id)) return problem(409, "CONFLICT", `user ${body.id} already exists`);
    const user: JsonObject = {
      id: body.id,
      email: body.email,
      display_name: body.display_name ?? null,
      status: "active",
      created_at: now(),
    };
    users.set(body.id, user);
    return { status: 201, body: user };
  }),
  route("user", "DELETE", "/users/:userId", ({ params }, world) =>
    remove(world, "users", params.userId),
  ),

  // permission service
  route("permission", "POST", "/workspaces", ({ body }, world) => {
    if (!isObject(body) || !text(body.owner_id)) return badRequest("owner_id is required");
    return create(world, "workspaces", "ws", {
      owner_id: body.owner_id,
      name: body.name ?? "Workspace",
      members: [{ user_id: body.owner_id, role: body.owner_role ?? "admin" }],
    });
  }),
  route("permission", "DELETE", "/workspaces/:workspaceId", ({ params }, world) =>
    remove(world, "workspaces", params.workspaceId),
  ),

  // notification service (automation-services: notifications, workflows, files)
  route("notification", "POST", "/notifications/email", ({ body }, world) => {
    if (!isObject(body) || !text(body.to) || !text(body.template))
      return badRequest("to and template are required");
    const sent = create(world, "emails", "eml", {
      to: body.to,
      template: body.template,
      status: "queued",
    });
    return { ...sent, status: 202 };
  }),
  route("notification", "POST", "/notifications", ({ body }, world) => {
    if (!isObject(body) || !text(body.user_id) || !text(body.template))
      return badRequest("user_id and template are required");
    const sent = create(world, "notifications", "ntf", {
      user_id: body.user_id,
      template: body.template,
      status: "queued",
    });
    return { ...sent, status: 202 };
  }),
  route("notification", "POST", "/workflows/:workflowId/executions", ({ params, body }, world) => {
    if (!isObject(body) || !text(body.user_id)) return badRequest("user_id is required");
    return create(world, "executions", "exe", {
      workflow_id: params.workflowId ?? null,
      user_id: body.user_id,
      status: "running",
    });
  }),
  route(
    "notification",
    "POST",
    "/workflows/:workflowId/executions/:executionId/cancel",
    ({ params }, world) => {
      const execution = world.kind("executions").get(params.executionId ?? "");
      if (!execution) return notFound(`execution ${params.executionId}`);
      execution.status = "cancelled";
      return { status: 200, body: { ...execution } };
    },
  ),
  route("notification", "POST", "/files/process", ({ body }, world) => {
    if (!isObject(body) || !Array.isArray(body.file_ids) || !body.file_ids.every(text))
      return badRequest("file_ids must be a list of file ids");
    const records = body.file_ids.map((file, i) => ({
      id: `rec_${String(i + 1).padStart(3, "0")}`,
      fields: { source_file: file, status: "processed" },
    }));
    const batch = create(world, "file_batches", "fb", {
      execution_id: body.execution_id ?? null,
      file_ids: body.file_ids,
    });
    const batchId = (batch.body as JsonObject).id!;
    return {
      status: 201,
      body: { batch_id: batchId, processed_files: body.file_ids.length, records },
    };
  }),
  route("notification", "DELETE", "/files/batches/:batchId", ({ params }, world) =>
    remove(world, "file_batches", params.batchId),
  ),

  // Airtable connector
  route("airtable", "POST", "/bases", ({ body }, world) => {
    if (!isObject(body) || !text(body.name) || !text(body.owner_id))
      return badRequest("name and owner_id are required");
    return create(world, "bases", "app", {
      name: body.name,
      owner_id: body.owner_id,
      workspace_id: body.workspace_id ?? null,
      template: body.template ?? null,
    });
  }),
  route("airtable", "DELETE", "/bases/:baseId", ({ params }, world) =>
    remove(world, "bases", params.baseId),
  ),
  route("airtable", "GET", "/bases/:baseId/access", ({ params }) => ({
    status: 200,
    body: { base_id: params.baseId ?? null, permission_level: "create" },
  })),
  route("airtable", "POST", "/bases/:baseId/schema", ({ params }, world) =>
    create(world, "schemas", "sch", {
      base_id: params.baseId ?? null,
      table_count: 3,
      tables: ["Contacts", "Projects", "Tasks"],
    }),
  ),
  route("airtable", "DELETE", "/bases/:baseId/schema/:schemaId", ({ params }, world) =>
    remove(world, "schemas", params.schemaId),
  ),
  route("airtable", "POST", "/bases/:baseId/webhooks", ({ params, body }, world) =>
    create(world, "webhooks", "ach", {
      base_id: params.baseId ?? null,
      notification_url: isObject(body) ? (body.notification_url ?? null) : null,
      expiration_time: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    }),
  ),
  route("airtable", "DELETE", "/bases/:baseId/webhooks/:webhookId", ({ params }, world) =>
    remove(world, "webhooks", params.webhookId),
  ),
  route("airtable", "POST", "/bases/:baseId/syncs", ({ params }, world) =>
    create(world, "syncs", "sync", { base_id: params.baseId ?? null, records_synced: 120 }),
  ),
  route("airtable", "DELETE", "/bases/:baseId/syncs/:syncId", ({ params }, world) =>
    remove(world, "syncs", params.syncId),
  ),
  route(
    "airtable",
    "PATCH",
    "/bases/:baseId/tables/:tableId/records",
    ({ params, body }, world) => {
      if (!isObject(body) || !Array.isArray(body.records))
        return badRequest("records must be a list");
      const update = create(world, "record_updates", "upd", {
        base_id: params.baseId ?? null,
        table_id: params.tableId ?? null,
        records: body.records.length,
        reverted: false,
      });
      const updateId = (update.body as JsonObject).id!;
      return { status: 200, body: { update_id: updateId, updated: body.records.length } };
    },
  ),
  route(
    "airtable",
    "POST",
    "/bases/:baseId/tables/:tableId/updates/:updateId/revert",
    ({ params }, world) => {
      const update = world.kind("record_updates").get(params.updateId ?? "");
      if (!update) return notFound(`update ${params.updateId}`);
      update.reverted = true;
      return {
        status: 200,
        body: { update_id: params.updateId ?? null, reverted: update.records ?? 0 },
      };
    },
  ),
];

/** The route of a request and its path parameters, or null. */
export function findRoute(
  service: string,
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | null {
  const segments = path.split("/").filter((s) => s !== "");
  for (const candidate of ROUTES) {
    if (candidate.service !== service || candidate.method !== method) continue;
    const params = matchPattern(candidate.pattern, segments);
    if (params) return { route: candidate, params };
  }
  return null;
}

function matchPattern(pattern: string, segments: readonly string[]): Record<string, string> | null {
  const parts = pattern.split("/").filter((s) => s !== "");
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    const segment = segments[i]!;
    if (!part.startsWith(":")) {
      if (part !== segment) return null;
      continue;
    }
    try {
      params[part.slice(1)] = decodeURIComponent(segment);
    } catch {
      return null; // bad percent-encoding: no route
    }
  }
  return params;
}
