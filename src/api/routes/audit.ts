import { ErrorCodes } from "../../core/errors.js";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { AuditLog } from "../../engine/audit-port.js";
import { requireRole } from "../auth.js";
import { HttpError } from "../http-errors.js";
import { ErrorSchema } from "../schemas.js";

const Entry = Type.Object({
  id: Type.String(),
  at: Type.String({ format: "date-time" }),
  actor: Type.String(),
  role: Type.String(),
  via: Type.String(),
  address: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  saga_id: Type.Union([Type.String(), Type.Null()]),
  target: Type.Union([Type.String(), Type.Null()]),
  status: Type.Integer(),
});

interface Query {
  actor?: string;
  action?: string;
  saga_id?: string;
  from?: string;
  to?: string;
  limit?: string;
  before?: string;
}

/** The tenant's audit trail, newest first (admin). */
export function auditRoutes(app: FastifyInstance, audit: AuditLog): void {
  app.get<{ Querystring: Query }>(
    "/audit",
    {
      preHandler: requireRole("admin"),
      schema: {
        tags: ["sagas"],
        summary: "Who did what, from where, on which saga or definition (admin; your tenant)",
        querystring: Type.Object(
          {
            actor: Type.Optional(Type.String({ maxLength: 200, description: "key:… or jwt:…" })),
            action: Type.Optional(Type.String({ maxLength: 100, description: "e.g. saga.cancel" })),
            saga_id: Type.Optional(Type.String({ format: "uuid" })),
            from: Type.Optional(Type.String({ format: "date-time" })),
            to: Type.Optional(Type.String({ format: "date-time" })),
            limit: Type.Optional(
              Type.String({
                pattern: "^(500|[1-4][0-9]{2}|[1-9][0-9]?)$",
                description: "1 to 500 (default 100)",
              }),
            ),
            before: Type.Optional(
              Type.String({ pattern: "^[1-9][0-9]{0,17}$", description: "next page: next_before" }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(Entry),
            next_before: Type.Union([Type.String(), Type.Null()]),
          }),
          400: Type.Ref(ErrorSchema),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const from = q.from === undefined ? undefined : Date.parse(q.from);
      const to = q.to === undefined ? undefined : Date.parse(q.to);
      if (from !== undefined && to !== undefined && from > to)
        throw new HttpError(400, ErrorCodes.VALIDATION_ERROR, "from must not be after to");
      const limit = q.limit === undefined ? 100 : Number(q.limit);
      const rows = await audit.list({
        tenantId: request.principal!.tenantId,
        limit,
        ...(q.actor ? { actor: q.actor } : {}),
        ...(q.action ? { action: q.action } : {}),
        ...(q.saga_id ? { sagaId: q.saga_id } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        ...(q.before ? { before: q.before } : {}),
      });
      return {
        items: rows.map((r) => ({
          id: r.id,
          at: new Date(r.at).toISOString(),
          actor: r.actor,
          role: r.role,
          via: r.via,
          address: r.address,
          user_agent: r.userAgent,
          action: r.action,
          saga_id: r.sagaId,
          target: r.target,
          status: r.status,
        })),
        next_before: rows.length === limit ? rows[rows.length - 1]!.id : null,
      };
    },
  );
}
