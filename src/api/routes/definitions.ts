import { ErrorCodes } from "../../core/errors.js";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { DefinitionCatalog } from "../../definitions/catalog.js";
import { sagaDocumentJsonSchema } from "../../definitions/format/schema.js";
import { requireRole } from "../auth.js";
import { HttpError } from "../http-errors.js";
import { ErrorSchema } from "../schemas.js";

const Definition = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  scope: Type.Union([Type.Literal("built-in"), Type.Literal("tenant")]),
  document: Type.Unknown(),
});
const view = (d: ReturnType<DefinitionCatalog["list"]>[number]) => ({
  name: d.name,
  version: d.version,
  scope: d.tenantId === null ? ("built-in" as const) : ("tenant" as const),
  document: d.document,
});

/** Saga definitions as data: register (admin), list, versions, and the JSON Schema of the format. */
export function definitionRoutes(
  app: FastifyInstance,
  catalog: DefinitionCatalog,
  quota: { perTenant: number },
): void {
  const schema = sagaDocumentJsonSchema();

  app.get(
    "/schemas/saga-definition.json",
    {
      config: { public: true },
      schema: { tags: ["definitions"], summary: "JSON Schema of a saga definition document" },
    },
    () => schema,
  );

  app.post(
    "/definitions",
    {
      preHandler: requireRole("admin"),
      schema: {
        tags: ["definitions"],
        summary: "Register a saga definition (name + version) for your tenant",
        description:
          "201 when registered, 200 when the same name, version and content exist already, 409 when the version exists with other content, 400 with every problem and its JSON path when the document is invalid. See /schemas/saga-definition.json and docs/definitions.md.",
        body: Type.Object(
          {},
          { additionalProperties: true, description: "a saga definition document" },
        ),
        response: {
          200: Definition,
          201: Definition,
          400: Type.Ref(ErrorSchema),
          403: Type.Ref(ErrorSchema),
          409: Type.Ref(ErrorSchema),
        },
      },
    },
    async (request, reply) => {
      const tenantId = request.principal!.tenantId;
      const own = catalog.list(tenantId).filter((d) => d.tenantId === tenantId);
      const body = request.body as { name?: unknown; version?: unknown };
      const known = own.some((d) => d.name === body.name && d.version === body.version);
      if (!known && own.length >= quota.perTenant) {
        throw new HttpError(
          403,
          ErrorCodes.QUOTA_EXCEEDED,
          `this tenant has ${own.length} definitions, its quota is ${quota.perTenant} (SAGA_QUOTA_DEFINITIONS)`,
          { quota: "definitions", limit: quota.perTenant },
        );
      }
      const { outcome, definition } = await catalog.register(tenantId, request.body);
      return reply.status(outcome === "created" ? 201 : 200).send(view(definition));
    },
  );

  app.get(
    "/definitions",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags: ["definitions"],
        summary: "Definitions declared as data that your tenant can run (built-in and your own)",
        response: { 200: Type.Object({ definitions: Type.Array(Definition) }) },
      },
    },
    (request) => ({ definitions: catalog.list(request.principal!.tenantId).map(view) }),
  );

  app.get<{ Params: { name: string } }>(
    "/definitions/:name/versions",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags: ["definitions"],
        summary: "Every version of one definition",
        params: Type.Object({ name: Type.String({ maxLength: 200 }) }),
        response: {
          200: Type.Object({ name: Type.String(), versions: Type.Array(Definition) }),
          404: Type.Ref(ErrorSchema),
        },
      },
    },
    (request) => {
      const versions = catalog
        .list(request.principal!.tenantId)
        .filter((d) => d.name === request.params.name);
      if (versions.length === 0)
        throw new HttpError(
          404,
          ErrorCodes.SAGA_UNKNOWN_TYPE,
          `no definition named ${request.params.name}`,
        );
      return { name: request.params.name, versions: versions.map(view) };
    },
  );
}
