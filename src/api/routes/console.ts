import { ErrorCodes, errorMessage } from "../../core/errors.js";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { parse as parseYaml } from "yaml";
import { SagaStatuses, type SagaStatus } from "../../core/state.js";
import { definitionProblems } from "../../definitions/format/validate.js";
import type { Orchestrator } from "../../engine/orchestrator.js";
import { requireRole } from "../auth.js";
import { HttpError } from "../http-errors.js";
import { ErrorSchema } from "../schemas.js";
import { overviewOf } from "./console-overview.js";
import { consoleStaticRoutes } from "./console-static.js";

const STATUSES: readonly SagaStatus[] = Object.values(SagaStatuses);
/** Counts per status stop here ("500+"): a count costs one bounded list query, whatever the store holds. */
export const COUNT_CAP = 500;
/** The overview reads at most this many of the newest sagas (one list page). */
export const OVERVIEW_SAMPLE = 1000;

const SummaryQuery = Type.Object({
  saga_type: Type.Optional(Type.String({ maxLength: 2000 })),
  created_after: Type.Optional(Type.String({ format: "date-time" })),
  created_before: Type.Optional(Type.String({ format: "date-time" })),
});
const ValidateBody = Type.Object(
  { text: Type.String({ maxLength: 512 * 1024 }) },
  { additionalProperties: false },
);

/**
 * What the web console needs besides the public API: the caller's identity, counts per status,
 * the overview, and a dry-run validation of a definition. Read-only; tenant-scoped like the rest.
 */
export function consoleRoutes(app: FastifyInstance, orchestrator: Orchestrator): void {
  consoleStaticRoutes(app);
  const tenantId = (request: FastifyRequest) => request.principal!.tenantId;
  const tags = ["console"];

  app.get(
    "/console/session",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags,
        summary: "Who you are: tenant, role and how you signed in",
        response: {
          200: Type.Object({
            tenant_id: Type.String(),
            role: Type.String(),
            via: Type.String(),
            subject: Type.String(),
          }),
          401: Type.Ref(ErrorSchema),
        },
      },
    },
    (request) => {
      const p = request.principal!;
      return { tenant_id: p.tenantId, role: p.role, via: p.via, subject: p.subject };
    },
  );

  app.get<{ Querystring: typeof SummaryQuery.static }>(
    "/console/summary",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags,
        summary: `Sagas per status (each count stops at ${COUNT_CAP}: capped = true)`,
        querystring: SummaryQuery,
      },
    },
    async (request) => {
      const { saga_type, created_after, created_before } = request.query;
      const counts = await Promise.all(
        STATUSES.map(async (status) => {
          const page = await orchestrator.list({
            tenantId: tenantId(request),
            statuses: [status],
            limit: COUNT_CAP,
            ...(saga_type ? { names: saga_type.split(",").map((s) => s.trim()) } : {}),
            ...(created_after ? { createdAfter: created_after } : {}),
            ...(created_before ? { createdBefore: created_before } : {}),
          });
          return { status, count: page.items.length, capped: page.next !== null };
        }),
      );
      return { counts, cap: COUNT_CAP };
    },
  );

  app.get(
    "/console/overview",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags,
        summary: `Throughput, outcome rates and durations over the newest ${OVERVIEW_SAMPLE} sagas`,
      },
    },
    async (request) => {
      const page = await orchestrator.list({ tenantId: tenantId(request), limit: OVERVIEW_SAMPLE });
      return overviewOf(page.items, Date.now(), page.next !== null);
    },
  );

  app.post<{ Body: typeof ValidateBody.static }>(
    "/console/definitions/validate",
    {
      preHandler: requireRole("viewer"),
      bodyLimit: 1024 * 1024,
      schema: {
        tags,
        summary: "Parse (JSON or YAML) and validate a definition without registering it",
        body: ValidateBody,
      },
    },
    (request) => {
      let document: unknown;
      try {
        document = parseYaml(request.body.text, { maxAliasCount: 100, prettyErrors: true });
      } catch (error) {
        return {
          document: null,
          problems: [{ path: "$", message: `not JSON or YAML: ${errorMessage(error)}` }],
        };
      }
      const tenant = tenantId(request);
      const problems = definitionProblems(document, {
        knownSaga: (name) => orchestrator.definitions.all(tenant).some((d) => d.name === name),
        childrenOf: () => [],
      }).map((p) => {
        const at = p.indexOf(": ");
        return at < 0
          ? { path: "$", message: p }
          : { path: p.slice(0, at), message: p.slice(at + 2) };
      });
      if (problems.length > 200)
        throw new HttpError(400, ErrorCodes.VALIDATION_ERROR, "too many problems");
      return { document, problems };
    },
  );
}
