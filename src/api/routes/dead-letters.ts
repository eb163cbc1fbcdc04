import { ErrorCodes } from "../../core/errors.js";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { DeadLetterAdmin, DeadLetterView } from "../../engine/dead-letter-port.js";
import { requireRole } from "../auth.js";
import { HttpError } from "../http-errors.js";
import { ErrorSchema } from "../schemas.js";

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: "^[0-9]+-[0-9]+$" });
const Ids = Type.Array(Id, { minItems: 1, maxItems: 100 });
const DeadLetter = Type.Object({
  id: Type.String(),
  group: Type.String(),
  consumer: Type.String(),
  deliveries: Type.Integer(),
  error: Type.String(),
  dead_at: Type.String({ format: "date-time" }),
  message: Type.Union([
    Type.Object({
      id: Type.String(),
      type: Type.String(),
      tenant_id: Type.String(),
      key: Type.Union([Type.String(), Type.Null()]),
      data: Type.Unknown(),
      occurred_at: Type.String({ format: "date-time" }),
      headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    }),
    Type.Null(),
  ]),
  raw: Type.Optional(Type.Record(Type.String(), Type.String())),
});

const view = (letter: DeadLetterView) => ({
  id: letter.id,
  group: letter.group,
  consumer: letter.consumer,
  deliveries: letter.deliveries,
  error: letter.error,
  dead_at: new Date(letter.deadAt).toISOString(),
  message: letter.message && {
    id: letter.message.id,
    type: letter.message.type,
    tenant_id: letter.message.tenantId,
    key: letter.message.key,
    data: letter.message.data,
    occurred_at: new Date(letter.message.occurredAt).toISOString(),
    ...(letter.message.headers ? { headers: letter.message.headers } : {}),
  },
  ...(letter.raw ? { raw: letter.raw } : {}),
});

/**
 * Dead-lettered bus messages of the caller's tenant (admin): list, inspect, re-drive, purge.
 * `onAction` is told of each change (the audit trail).
 */
export function deadLetterRoutes(
  app: FastifyInstance,
  admin: DeadLetterAdmin,
  onAction?: (
    request: { principal: unknown },
    action: "redrive" | "purge",
    ids: readonly string[] | "all",
  ) => void,
): void {
  const guard = { preHandler: requireRole("admin") };
  app.get<{ Querystring: { after?: string; limit?: string } }>(
    "/dead-letters",
    {
      ...guard,
      schema: {
        tags: ["events"],
        summary: "Dead-lettered bus messages of your tenant, oldest first (admin)",
        querystring: Type.Object({
          after: Type.Optional(Id),
          limit: Type.Optional(
            Type.String({
              pattern: "^(500|[1-4][0-9]{2}|[1-9][0-9]?)$",
              description: "1 to 500 (default 50)",
            }),
          ),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(DeadLetter),
            next_after: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const page = await admin.list(request.principal!.tenantId, {
        limit: request.query.limit === undefined ? 50 : Number(request.query.limit),
        ...(request.query.after ? { after: request.query.after } : {}),
      });
      return { items: page.items.map(view), next_after: page.next };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/dead-letters/:id",
    {
      ...guard,
      schema: {
        tags: ["events"],
        summary: "One dead letter: the message, the group that gave up, its last error (admin)",
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: DeadLetter, 404: Type.Ref(ErrorSchema) },
      },
    },
    async (request) => {
      const letter = await admin.get(request.principal!.tenantId, request.params.id);
      if (!letter)
        throw new HttpError(
          404,
          ErrorCodes.DEAD_LETTER_NOT_FOUND,
          `no dead letter ${request.params.id}`,
        );
      return view(letter);
    },
  );

  app.post<{ Body: { ids: string[] } }>(
    "/dead-letters/redrive",
    {
      ...guard,
      schema: {
        tags: ["events"],
        summary: "Publish dead letters again and remove them (admin)",
        description:
          "Every consumer group sees a re-driven message again (consumers are idempotent by message id). Ids not found, of another tenant, or undecodable are listed in `skipped`.",
        body: Type.Object({ ids: Ids }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            redriven: Type.Array(Type.String()),
            skipped: Type.Array(Type.String()),
          }),
        },
      },
    },
    async (request) => {
      const result = await admin.redrive(request.principal!.tenantId, request.body.ids);
      onAction?.(request, "redrive", result.redriven);
      return result;
    },
  );

  app.post<{ Body: { ids?: string[]; all?: boolean } }>(
    "/dead-letters/purge",
    {
      ...guard,
      schema: {
        tags: ["events"],
        summary: "Remove dead letters for good: the given ids, or all of your tenant's (admin)",
        body: Type.Object(
          { ids: Type.Optional(Ids), all: Type.Optional(Type.Literal(true)) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ purged: Type.Integer() }), 400: Type.Ref(ErrorSchema) },
      },
    },
    async (request) => {
      const { ids, all } = request.body;
      if ((ids === undefined) === (all === undefined))
        throw new HttpError(400, ErrorCodes.VALIDATION_ERROR, "send either ids or all: true");
      const target = all ? ("all" as const) : ids!;
      const purged = await admin.purge(request.principal!.tenantId, target);
      onAction?.(request, "purge", target);
      return { purged };
    },
  );
}
