import { nodeSteps } from "../../core/plan.js";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "@sinclair/typebox";
import { ErrorCodes, notFound } from "../../core/errors.js";
import { SagaStatuses, type SagaStatus } from "../../core/state.js";
import type { Orchestrator } from "../../engine/orchestrator.js";
import { requireRole } from "../auth.js";
import { HttpError } from "../http-errors.js";
import {
  ErrorSchema,
  EventSchema,
  ListSagasQuery,
  SagaIdParams,
  SagaPageSchema,
  SagaSchema,
  SagaTypeSchema,
  StartSagaBody,
  StepSchema,
} from "../schemas.js";
import { eventView, sagaView, stepsView } from "../views.js";
import type { StartQuota } from "../start-quota.js";
import { faultOf } from "./start-fault.js";
import { requestTraceparent } from "../tracing-hook.js";
import { streamSaga, type StreamOptions } from "./saga-stream.js";

const STATUSES: readonly SagaStatus[] = Object.values(SagaStatuses);
const errors = {
  400: Type.Ref(ErrorSchema),
  401: Type.Ref(ErrorSchema),
  403: Type.Ref(ErrorSchema),
  404: Type.Ref(ErrorSchema),
};

/**
 * Idempotency keys of the forms the engine makes itself: `<saga id>:<step>[:…]` (child sagas,
 * step attempts) and `event:…` (trigger starts). A caller using one could take the place of the
 * engine's own start (e.g. a child saga's), so the API refuses them.
 */
const ENGINE_KEY = /^(?:event:|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:)/i;

export interface SagaRouteOptions {
  /** Starts per second per tenant. */
  starts: StartQuota;
  stream: StreamOptions;
}

/** Saga routes: start, list, inspect, cancel, retry, stream. The engine does the work. */
export function sagaRoutes(
  app: FastifyInstance,
  orchestrator: Orchestrator,
  options: SagaRouteOptions,
): void {
  const tenant = (request: FastifyRequest) => ({ tenantId: request.principal!.tenantId });

  app.post<{ Body: StartSagaBody }>(
    "/sagas/start",
    {
      preHandler: requireRole("operator"),
      schema: {
        tags: ["sagas"],
        summary: "Start a saga",
        description:
          "Starts a saga of a known type. A repeated idempotency key (body or Idempotency-Key header) returns the saga it started first, with 200 instead of 201.",
        headers: Type.Object({
          "idempotency-key": Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
        }),
        body: StartSagaBody,
        response: {
          200: Type.Ref(SagaSchema),
          201: Type.Ref(SagaSchema),
          ...errors,
          409: Type.Ref(ErrorSchema),
          429: Type.Ref(ErrorSchema),
        },
      },
    },
    async (request, reply) => {
      const header = request.headers["idempotency-key"];
      const headerKey = typeof header === "string" ? header : undefined;
      const bodyKey = request.body.idempotency_key;
      if (headerKey !== undefined && bodyKey !== undefined && headerKey !== bodyKey) {
        throw new HttpError(
          400,
          ErrorCodes.VALIDATION_ERROR,
          "the Idempotency-Key header and idempotency_key differ",
        );
      }
      const key = bodyKey ?? headerKey;
      if (key !== undefined && ENGINE_KEY.test(key)) {
        throw new HttpError(
          400,
          ErrorCodes.RESERVED_IDEMPOTENCY_KEY,
          "idempotency keys of the forms <saga id>:<step> and event:… are the engine's own; choose another key",
        );
      }
      options.starts.take(request.principal!.tenantId);
      const fault = faultOf(request, orchestrator);
      const traceparent = requestTraceparent(request); // the saga's trace links to this request
      const handle = await orchestrator.start(request.body.saga_type, request.body.input ?? null, {
        ...tenant(request),
        ...(key !== undefined ? { idempotencyKey: key } : {}),
        ...(request.body.version !== undefined ? { version: request.body.version } : {}),
        ...(fault ? { fault } : {}),
        ...(traceparent ? { traceparent } : {}),
        correlationId: request.id,
      });
      const state = handle.state ?? (await orchestrator.get(handle.sagaId, tenant(request)));
      if (!state) throw notFound(`no saga ${handle.sagaId}`);
      reply.header("location", `/sagas/${handle.sagaId}`);
      return reply.status(handle.created ? 201 : 200).send(sagaView(state));
    },
  );

  app.get<{ Querystring: Record<string, string | number | undefined> }>(
    "/sagas/",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags: ["sagas"],
        summary: "List sagas",
        description:
          "Newest first: by created_at, then by id (ids one process makes sort in the order it made them). Filters: status and saga_type (comma-separated), created_after/created_before, and any recorded attribute as ?name=value. Pages with next_cursor.",
        querystring: ListSagasQuery,
        response: { 200: SagaPageSchema, ...errors },
      },
    },
    async (request) => {
      const {
        status,
        saga_type,
        created_after,
        created_before,
        updated_after,
        updated_before,
        limit,
        cursor,
        ...attributes
      } = request.query;
      const statuses =
        typeof status === "string" ? status.split(",").map((s) => s.trim()) : undefined;
      const unknown = statuses?.filter((s) => !STATUSES.includes(s as SagaStatus)) ?? [];
      if (unknown.length > 0) {
        throw new HttpError(
          400,
          ErrorCodes.VALIDATION_ERROR,
          `unknown status ${unknown.join(", ")} (use ${STATUSES.join(", ")})`,
        );
      }
      const page = await orchestrator.list({
        ...tenant(request),
        limit: typeof limit === "string" ? Number(limit) : 50,
        ...(statuses ? { statuses: statuses as SagaStatus[] } : {}),
        ...(typeof saga_type === "string"
          ? { names: saga_type.split(",").map((s) => s.trim()) }
          : {}),
        ...(typeof created_after === "string" ? { createdAfter: created_after } : {}),
        ...(typeof created_before === "string" ? { createdBefore: created_before } : {}),
        ...(typeof updated_after === "string" ? { updatedAfter: updated_after } : {}),
        ...(typeof updated_before === "string" ? { updatedBefore: updated_before } : {}),
        ...(typeof cursor === "string" ? { cursor } : {}),
        attributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v)])),
      });
      return { items: page.items.map(sagaView), next_cursor: page.next };
    },
  );

  app.get(
    "/sagas/types/available",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags: ["sagas"],
        summary: "Saga types this server can start",
        response: { 200: Type.Object({ types: Type.Array(SagaTypeSchema) }) },
      },
    },
    (request) => {
      const byName = new Map<string, ReturnType<typeof orchestrator.definitions.all>>();
      for (const d of orchestrator.definitions.all(request.principal!.tenantId))
        byName.set(d.name, [...(byName.get(d.name) ?? []), d]);
      const types = [...byName.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, defs]) => {
          const latest = Math.max(...defs.map((d) => d.version));
          return {
            saga_type: name,
            versions: defs
              .sort((a, b) => b.version - a.version)
              .map((d) => ({
                version: d.version,
                latest: d.version === latest,
                timeout_ms: d.plan.timeoutMs,
                steps: d.plan.nodes.flatMap((n) =>
                  nodeSteps(n).map((s) => ({
                    name: s.name,
                    group: n.kind === "parallel" ? n.name : null,
                    compensable: s.compensable,
                    conditional: s.conditional,
                  })),
                ),
              })),
          };
        });
      return { types };
    },
  );

  const getState = async (request: FastifyRequest<{ Params: SagaIdParams }>) => {
    const state = await orchestrator.get(request.params.id, tenant(request));
    if (!state) throw notFound(`no saga ${request.params.id}`);
    return state;
  };

  app.get<{ Params: SagaIdParams }>(
    "/sagas/:id",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags: ["sagas"],
        summary: "One saga",
        params: SagaIdParams,
        response: { 200: Type.Ref(SagaSchema), ...errors },
      },
    },
    async (request) => sagaView(await getState(request)),
  );

  app.get<{ Params: SagaIdParams }>(
    "/sagas/:id/steps",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags: ["sagas"],
        summary: "Steps of a saga: status, attempts, timings, last error, compensation",
        params: SagaIdParams,
        response: {
          200: Type.Object({ saga_id: Type.String(), steps: Type.Array(StepSchema) }),
          ...errors,
        },
      },
    },
    async (request) => {
      const state = await getState(request);
      const definition = orchestrator.definitions.find(state.name, state.version, state.tenantId);
      return { saga_id: state.id, steps: stepsView(state, definition?.plan) };
    },
  );

  app.get<{ Params: SagaIdParams }>(
    "/sagas/:id/events",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags: ["sagas"],
        summary: "The full event history of a saga",
        params: SagaIdParams,
        response: {
          200: Type.Object({ saga_id: Type.String(), events: Type.Array(EventSchema) }),
          ...errors,
        },
      },
    },
    async (request) => {
      const state = await getState(request);
      const events = await orchestrator.events(state.id, tenant(request));
      return { saga_id: state.id, events: events.map((e, i) => eventView(i + 1, e)) };
    },
  );

  app.post<{ Params: SagaIdParams }>(
    "/sagas/:id/cancel",
    {
      preHandler: requireRole("operator"),
      schema: {
        tags: ["sagas"],
        summary: "Cancel a saga: abort the running step and compensate",
        params: SagaIdParams,
        response: { 202: Type.Ref(SagaSchema), ...errors, 409: Type.Ref(ErrorSchema) },
      },
    },
    async (request, reply) => {
      await orchestrator.cancel(request.params.id, tenant(request));
      return reply.status(202).send(sagaView(await getState(request)));
    },
  );

  app.post<{ Params: SagaIdParams }>(
    "/sagas/:id/retry",
    {
      preHandler: requireRole("operator"),
      schema: {
        tags: ["sagas"],
        summary: "Resume a failed saga (its failed compensation, or its paused step)",
        params: SagaIdParams,
        response: { 202: Type.Ref(SagaSchema), ...errors, 409: Type.Ref(ErrorSchema) },
      },
    },
    async (request, reply) => {
      await orchestrator.retry(request.params.id, tenant(request));
      return reply.status(202).send(sagaView(await getState(request)));
    },
  );

  app.get<{ Params: SagaIdParams }>(
    "/sagas/:id/stream",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags: ["sagas"],
        summary:
          "Server-Sent Events: the saga's history, then every transition as it happens; closes when the saga ends",
        description:
          "Each message has `id` = event seq, `event` = event type, `data` = the event (JSON). Send Last-Event-ID to resume after a seq. The stream closes once the saga has ended and you have every event up to its end (at once when Last-Event-ID is past it); an idle stream carries `: keep-alive` comments. 429 TOO_MANY_STREAMS when your principal, your tenant or the server has too many open.",
        params: SagaIdParams,
        produces: ["text/event-stream"],
        response: {
          200: Type.String({ description: "text/event-stream" }),
          ...errors,
          429: Type.Ref(ErrorSchema),
        },
      },
    },
    async (request, reply) => {
      const state = await getState(request);
      await streamSaga(orchestrator, options.stream, request, reply, state);
    },
  );
}
