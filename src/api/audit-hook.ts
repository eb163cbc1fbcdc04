import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AuditLog } from "../engine/audit-port.js";

/** The audited routes: method + route template -> action. */
const ACTIONS: Record<string, string> = {
  "POST /sagas/start": "saga.start",
  "POST /sagas/:id/cancel": "saga.cancel",
  "POST /sagas/:id/retry": "saga.retry",
  "POST /definitions": "definition.register",
  "POST /dead-letters/redrive": "dead_letter.redrive",
  "POST /dead-letters/purge": "dead_letter.purge",
  "POST /events/publish": "event.publish",
  "POST /events/replay/:stream_id": "event.replay",
};
const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The action of a request, or null when it is not audited (reads are not). */
export function auditAction(method: string, route: string | undefined): string | null {
  if (!route || !WRITES.has(method)) return null;
  const known = ACTIONS[`${method} ${route}`];
  if (known) return known;
  // Routes added by others keep being audited: any change to definitions or secrets.
  if (route.startsWith("/definitions")) return `definition.${method.toLowerCase()}`;
  if (route.startsWith("/secrets")) return `secret.${method.toLowerCase()}`;
  return null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const clip = (text: string | undefined | null, max: number) =>
  text == null ? null : text.length > max ? text.slice(0, max) : text;

function targetOf(request: FastifyRequest): string | null {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const body = (request.body ?? {}) as Record<string, unknown>;
  const named = params.name ?? params.stream_id ?? body.name;
  if (typeof named === "string")
    return typeof body.version === "number" ? `${named}@${body.version}` : named;
  if (Array.isArray(body.ids)) return clip(body.ids.join(","), 500);
  if (body.all === true) return "all";
  if (typeof body.saga_type === "string") return body.saga_type;
  return null;
}

/**
 * Records every audited request (start, cancel, retry, definition and secret changes, dead-letter
 * actions, event publishes) with its principal, address, user agent, target and answer, before the
 * answer leaves. An audit write that fails is logged; the answer still goes out (the action is
 * done by then).
 */
export function installAuditHook(app: FastifyInstance, audit: AuditLog): void {
  app.addHook("onSend", async (request, reply, payload) => {
    const principal = request.principal;
    const action = auditAction(request.method, request.routeOptions.url);
    if (!principal || !action) return payload;
    const params = (request.params ?? {}) as Record<string, unknown>;
    let sagaId = typeof params.id === "string" && UUID.test(params.id) ? params.id : null;
    if (!sagaId && action === "saga.start" && typeof payload === "string") {
      const id = /"saga_id":"([0-9a-f-]{36})"/.exec(payload)?.[1];
      if (id && UUID.test(id)) sagaId = id;
    }
    await audit
      .record({
        tenantId: principal.tenantId,
        actor: principal.subject,
        role: principal.role,
        via: principal.via,
        address: clip(request.ip, 100),
        userAgent: clip(request.headers["user-agent"], 300),
        action,
        sagaId,
        target: targetOf(request),
        status: reply.statusCode,
      })
      .catch((error: unknown) =>
        request.log.error({ err: error, action }, "audit record failed; the action stands"),
      );
    return payload;
  });
}
