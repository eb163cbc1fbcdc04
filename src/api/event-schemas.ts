import { Type, type Static } from "@sinclair/typebox";
import { ErrorCodes } from "../core/errors.js";

/** Request and response schemas of the Events API (they make its part of the OpenAPI document). */

const StreamId = Type.String({
  minLength: 1,
  maxLength: 200,
  description: "Stream name within your tenant, e.g. user-42 or order:A-17.",
});

const FromVersion = (description: string) =>
  Type.String({ pattern: "^[1-9][0-9]{0,8}$", description });

export const PublishEventBody = Type.Object(
  {
    stream_id: StreamId,
    type: Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: "^[A-Za-z0-9_.:-]+$",
      description: "Event type, e.g. user.registered (what triggers and waiting steps match on).",
    }),
    data: Type.Optional(Type.Unknown({ description: "JSON payload (default {})." })),
    metadata: Type.Optional(
      Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), {
        description:
          "Stored with the event. String values travel as bus headers; correlation_id (default: this request's X-Correlation-ID) becomes the started sagas' correlation id.",
      }),
    ),
    expected_version: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: `Append only if the stream is at this version (0: it must not exist yet); otherwise 409 ${ErrorCodes.SAGA_VERSION_CONFLICT} and nothing is written.`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type PublishEventBody = Static<typeof PublishEventBody>;

export const PublishedEventSchema = Type.Object({
  event_id: Type.String({ format: "uuid" }),
  stream_id: Type.String(),
  stream_version: Type.Integer(),
  global_position: Type.Integer(),
});

export const StoredEventSchema = Type.Object(
  {
    event_id: Type.String({ format: "uuid" }),
    stream_id: Type.String(),
    stream_version: Type.Integer(),
    global_position: Type.Integer(),
    type: Type.String(),
    data: Type.Unknown(),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    created_at: Type.String({ format: "date-time" }),
  },
  { $id: "StoredEvent" },
);

export const StreamParams = Type.Object({ stream_id: StreamId });
export type StreamParams = Static<typeof StreamParams>;

export const ReadStreamQuery = Type.Object(
  {
    from_version: Type.Optional(FromVersion("First version to return (default 1).")),
    limit: Type.Optional(
      Type.String({ pattern: "^(1000|[1-9][0-9]{0,2})$", description: "1 to 1000 (default 100)" }),
    ),
  },
  { additionalProperties: false },
);
export type ReadStreamQuery = Static<typeof ReadStreamQuery>;

export const ReadAllQuery = Type.Object(
  {
    after: Type.Optional(
      Type.String({
        pattern: "^[0-9]{1,15}$",
        description:
          "Return events after this global position (default 0: from the start); pass next_after of the previous page.",
      }),
    ),
    limit: Type.Optional(
      Type.String({ pattern: "^(1000|[1-9][0-9]{0,2})$", description: "1 to 1000 (default 100)" }),
    ),
  },
  { additionalProperties: false },
);
export type ReadAllQuery = Static<typeof ReadAllQuery>;

export const ReplayQuery = Type.Object(
  {
    as_new: Type.Optional(
      Type.Union([Type.Literal("true"), Type.Literal("false")], {
        description:
          "false (default): original event ids, so no saga is started twice. true: new ids, so triggers start new sagas.",
      }),
    ),
    from_version: Type.Optional(FromVersion("First version to replay (default 1).")),
  },
  { additionalProperties: false },
);
export type ReplayQuery = Static<typeof ReplayQuery>;

export const StreamPageSchema = Type.Object({
  stream_id: Type.String(),
  events: Type.Array(Type.Ref(StoredEventSchema)),
  next_from_version: Type.Union([Type.Integer(), Type.Null()], {
    description: "from_version of the next page; null when this page reached the stream's end.",
  }),
});

export const AllPageSchema = Type.Object({
  events: Type.Array(Type.Ref(StoredEventSchema)),
  next_after: Type.Integer({
    description:
      "Pass as ?after= to continue (the last position returned, or your after when none was).",
  }),
  has_more: Type.Boolean({ description: "More events were ready: ask again at once." }),
});

export const EventTypesSchema = Type.Object({
  types: Type.Array(
    Type.Object({
      type: Type.String(),
      count: Type.Integer(),
      last_at: Type.String({ format: "date-time" }),
    }),
  ),
});

export const ReplayResultSchema = Type.Object({
  stream_id: Type.String(),
  replayed: Type.Integer({ description: "Events written to the outbox for the bus." }),
  as_new: Type.Boolean(),
});
