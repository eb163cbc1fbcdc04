import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { ErrorCodes, SagaError } from "../../core/errors.js";
import {
  MAX_SECRET_LENGTH,
  SECRET_NAME,
  type TenantSecrets,
} from "../../steps/secrets/tenant-secrets.js";
import { requireRole } from "../auth.js";
import { HttpError } from "../http-errors.js";
import { ErrorSchema } from "../schemas.js";

const Params = Type.Object({ name: Type.String({ maxLength: 200 }) });
const Entry = Type.Object({ name: Type.String(), updated_at: Type.String() });

/** Secret errors as HTTP: a bad name or value is 400, an unknown name 404. */
async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SagaError && error.code === ErrorCodes.SAGA_INVALID_SECRET)
      throw new HttpError(400, error.code, error.message);
    if (error instanceof SagaError && error.code === ErrorCodes.SAGA_SECRET_NOT_FOUND)
      throw new HttpError(404, error.code, error.message);
    throw error;
  }
}

/**
 * A tenant's secrets, for its definitions' `{{tenant_secrets.NAME}}`: written and deleted by an
 * admin of the tenant, listed by name. No route ever answers a value.
 */
export function secretRoutes(app: FastifyInstance, secrets: TenantSecrets): void {
  app.put<{ Params: { name: string }; Body: { value: string } }>(
    "/secrets/:name",
    {
      preHandler: requireRole("admin"),
      schema: {
        tags: ["secrets"],
        summary: "Write a secret of your tenant (its value is never returned)",
        description: `Used by your definitions as {{tenant_secrets.NAME}}. Name: ${SECRET_NAME.source}. 201 when created, 204 when replaced.`,
        params: Params,
        body: Type.Object(
          { value: Type.String({ maxLength: MAX_SECRET_LENGTH }) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ name: Type.String() }),
          204: Type.Null(),
          400: Type.Ref(ErrorSchema),
        },
      },
    },
    async (request, reply) => {
      const { created } = await answer(() =>
        secrets.set(request.principal!.tenantId, request.params.name, request.body.value),
      );
      return created
        ? reply.status(201).send({ name: request.params.name })
        : reply.status(204).send();
    },
  );

  app.delete<{ Params: { name: string } }>(
    "/secrets/:name",
    {
      preHandler: requireRole("admin"),
      schema: {
        tags: ["secrets"],
        summary: "Delete a secret of your tenant",
        params: Params,
        response: { 204: Type.Null(), 400: Type.Ref(ErrorSchema), 404: Type.Ref(ErrorSchema) },
      },
    },
    async (request, reply) => {
      await answer(() => secrets.delete(request.principal!.tenantId, request.params.name));
      return reply.status(204).send();
    },
  );

  app.get(
    "/secrets",
    {
      preHandler: requireRole("admin"),
      schema: {
        tags: ["secrets"],
        summary: "The names of your tenant's secrets (never their values)",
        response: {
          200: Type.Object({ secrets: Type.Array(Entry), encrypted_at_rest: Type.Boolean() }),
        },
      },
    },
    async (request) => ({
      secrets: (await secrets.list(request.principal!.tenantId)).map((s) => ({
        name: s.name,
        updated_at: new Date(s.updatedAt).toISOString(),
      })),
      encrypted_at_rest: secrets.encrypted,
    }),
  );
}
