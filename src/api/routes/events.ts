import { ErrorCodes } from "../../core/errors.js";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "@sinclair/typebox";
import type { Json, JsonObject } from "../../core/json.js";
import type { EventStore, RecordedEvent } from "../../engine/event-store-port.js";
import { requireRole } from "../auth.js";
import {
  AllPageSchema,
  EventTypesSchema,
  PublishedEventSchema,
  PublishEventBody,
  ReadAllQuery,
  ReadStreamQuery,
  ReplayQuery,
  ReplayResultSchema,
  StoredEventSchema,
  StreamPageSchema,
  StreamParams,
} from "../event-schemas.js";
import { isCorrelationId } from "../correlation-id.js";
import { requestTraceparent } from "../tracing-hook.js";
import { HttpError } from "../http-errors.js";
import { ErrorSchema } from "../schemas.js";
import { isoTime } from "../views.js";

const errors = {
  400: Type.Ref(ErrorSchema),
  401: Type.Ref(ErrorSchema),
  403: Type.Ref(ErrorSchema),
};
const DEFAULT_LIMIT = 100;

/**
 * The Events API: a tenant's event store (streams and one log by global position). Published
 * events reach the bus through the transactional outbox, where saga triggers and waiting steps
 * see them.
 */
export function eventRoutes(
  app: FastifyInstance,
  events: EventStore,
  limits: { maxEventBytes: number },
): void {
  const tenantOf = (request: FastifyRequest) => request.principal!.tenantId;
  app.addSchema(StoredEventSchema);

  const notFound = (streamId: string) =>
    new HttpError(404, ErrorCodes.STREAM_NOT_FOUND, `no event stream ${JSON.stringify(streamId)}`);

  app.post<{ Body: PublishEventBody }>(
    "/events/publish",
    {
      preHandler: requireRole("operator"),
      schema: {
        tags: ["events"],
        summary: "Append an event to a stream and publish it",
        description: `Appends the event to the stream (version n+1) and, in the same transaction, to the outbox: the relay then puts it on the bus, where sagas whose definition has a trigger for its type start (once per event id) and waiting steps that match it resume. With expected_version the append happens only if the stream is at that version (0: new stream); otherwise 409 ${ErrorCodes.SAGA_VERSION_CONFLICT} and nothing is written.`,
        body: PublishEventBody,
        response: {
          201: PublishedEventSchema,
          ...errors,
          409: Type.Ref(ErrorSchema),
          413: Type.Ref(ErrorSchema),
        },
      },
    },
    async (request, reply) => {
      const { stream_id, type, data, metadata, expected_version } = request.body;
      checkMetadata(metadata);
      const size = Buffer.byteLength(
        JSON.stringify({ data: data ?? {}, metadata: metadata ?? {} }),
      );
      if (size > limits.maxEventBytes) {
        throw new HttpError(
          413,
          ErrorCodes.SAGA_EVENT_TOO_LARGE,
          `the event's data and metadata are ${size} bytes as JSON; at most ${limits.maxEventBytes} (SAGA_MAX_EVENT_BYTES)`,
          { limit: limits.maxEventBytes, size },
        );
      }
      const meta = { ...(metadata ?? {}) } as JsonObject;
      if (meta.correlation_id === undefined) meta.correlation_id = request.id;
      const traceparent = requestTraceparent(request); // consumers continue this request's trace
      if (traceparent) meta.traceparent = traceparent;
      const result = await events.append(
        tenantOf(request),
        stream_id,
        [{ type, data: (data ?? {}) as Json, metadata: meta }],
        expected_version === undefined ? {} : { expectedVersion: expected_version },
      );
      const event = result.events[0]!;
      return reply.status(201).send({
        event_id: event.eventId,
        stream_id: event.streamId,
        stream_version: event.streamVersion,
        global_position: event.globalPosition,
      });
    },
  );

  app.get<{ Params: StreamParams; Querystring: ReadStreamQuery }>(
    "/events/stream/:stream_id",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags: ["events"],
        summary: "Events of one stream, oldest first",
        description:
          "Pages with from_version and next_from_version. 404 when the stream has no events.",
        params: StreamParams,
        querystring: ReadStreamQuery,
        response: { 200: StreamPageSchema, ...errors, 404: Type.Ref(ErrorSchema) },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const { stream_id } = request.params;
      const from = Number(request.query.from_version ?? 1);
      const limit = Number(request.query.limit ?? DEFAULT_LIMIT);
      const page = await events.readStream(tenantId, stream_id, {
        fromVersion: from,
        limit: limit + 1,
      });
      if (
        page.length === 0 &&
        (from === 1 || (await events.readStream(tenantId, stream_id, { limit: 1 })).length === 0)
      )
        throw notFound(stream_id);
      const items = page.slice(0, limit);
      return {
        stream_id,
        events: items.map(eventView),
        next_from_version: page.length > limit ? items[items.length - 1]!.streamVersion + 1 : null,
      };
    },
  );

  app.get<{ Querystring: ReadAllQuery }>(
    "/events/all",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags: ["events"],
        summary: "All of the tenant's events by global position",
        description:
          "A page of events after ?after= (a global position), in order. Follow next_after to read on: no event is ever skipped, also one whose transaction commits after a later one's (such an event, and everything after it, is held back until it is settled).",
        querystring: ReadAllQuery,
        response: { 200: AllPageSchema, ...errors },
      },
    },
    async (request) => {
      const after = Number(request.query.after ?? 0);
      const limit = Number(request.query.limit ?? DEFAULT_LIMIT);
      const page = await events.readAll(tenantOf(request), after, limit + 1);
      const items = page.slice(0, limit);
      return {
        events: items.map(eventView),
        next_after: items.length > 0 ? items[items.length - 1]!.globalPosition : after,
        has_more: page.length > limit,
      };
    },
  );

  app.get(
    "/events/types",
    {
      preHandler: requireRole("viewer"),
      schema: {
        tags: ["events"],
        summary: "Event types in the tenant's event store, with counts",
        response: { 200: EventTypesSchema, ...errors },
      },
    },
    async (request) => ({
      types: (await events.listTypes(tenantOf(request))).map((t) => ({
        type: t.type,
        count: t.count,
        last_at: isoTime(t.lastAt),
      })),
    }),
  );

  app.post<{ Params: StreamParams; Querystring: ReplayQuery }>(
    "/events/replay/:stream_id",
    {
      preHandler: requireRole("operator"),
      schema: {
        tags: ["events"],
        summary: "Publish a stream's events to the bus again",
        description:
          "Writes the stream's events (from from_version) to the outbox again, in order; the relay puts them on the bus. By default they keep their ORIGINAL event ids: consumers that deduplicate on the id ignore them, and since a trigger starts its saga idempotently on the event id, a replay never starts a saga twice (waiting steps that match still resume). With ?as_new=true they get new ids (header x-replay-of names the original) and act as new events: triggers start new sagas. 404 when the stream has no events.",
        params: StreamParams,
        querystring: ReplayQuery,
        response: { 202: ReplayResultSchema, ...errors, 404: Type.Ref(ErrorSchema) },
      },
    },
    async (request, reply) => {
      const asNew = request.query.as_new === "true";
      const replayed = await events.replay(tenantOf(request), request.params.stream_id, {
        fromVersion: Number(request.query.from_version ?? 1),
        asNew,
      });
      if (
        replayed === 0 &&
        (await events.readStream(tenantOf(request), request.params.stream_id, { limit: 1 }))
          .length === 0
      )
        throw notFound(request.params.stream_id);
      return reply
        .status(202)
        .send({ stream_id: request.params.stream_id, replayed, as_new: asNew });
    },
  );
}

/** Bus headers the engine sets itself (x-correlation-id, x-stream-id, x-replay-of…). */
const RESERVED_METADATA = /^(?:x-|traceparent$|tracestate$|idempotency-key$)/i;

/**
 * String metadata travels as bus headers: a caller may not set the engine's own headers (a fake
 * `x-replay-of`, another stream's `x-stream-id`), and its correlation id follows the
 * X-Correlation-ID rule.
 */
function checkMetadata(metadata: Record<string, unknown> | undefined): void {
  if (metadata === undefined) return;
  const reserved = Object.keys(metadata).filter((k) => RESERVED_METADATA.test(k));
  if (reserved.length > 0) {
    throw new HttpError(
      400,
      ErrorCodes.RESERVED_METADATA_KEY,
      `metadata keys ${reserved.map((k) => JSON.stringify(k)).join(", ")} are reserved for the engine's bus headers (x-*, traceparent, tracestate, idempotency-key)`,
      { keys: reserved },
    );
  }
  const correlation = metadata.correlation_id;
  if (
    correlation !== undefined &&
    (typeof correlation !== "string" || !isCorrelationId(correlation))
  ) {
    throw new HttpError(
      400,
      ErrorCodes.INVALID_CORRELATION_ID,
      "metadata.correlation_id must be 1 to 128 characters of A-Z a-z 0-9 . _ : -",
    );
  }
}

function eventView(e: RecordedEvent) {
  return {
    event_id: e.eventId,
    stream_id: e.streamId,
    stream_version: e.streamVersion,
    global_position: e.globalPosition,
    type: e.type,
    data: e.data,
    metadata: e.metadata,
    created_at: isoTime(e.createdAt),
  };
}
