import { Type, type Static } from "@sinclair/typebox";
import { ErrorCodes } from "../core/errors.js";
import { SagaStatuses } from "../core/state.js";

/** Request and response schemas: they validate requests and make the OpenAPI document. */
export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({
        description: `Stable machine-readable code, e.g. ${ErrorCodes.SAGA_NOT_FOUND}.`,
      }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: "Error" },
);

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const ErrorInfo = Type.Union([
  Type.Object({
    name: Type.String(),
    code: Type.String(),
    message: Type.String(),
    retryable: Type.Boolean(),
    details: Type.Optional(Type.Unknown()),
  }),
  Type.Null(),
]);

export const SagaSchema = Type.Object(
  {
    saga_id: Type.String({ format: "uuid" }),
    saga_type: Type.String(),
    version: Type.Integer(),
    status: Type.Union(Object.values(SagaStatuses).map((s) => Type.Literal(s))),
    reason: Type.Union([
      Type.Literal("step_failed"),
      Type.Literal("cancelled"),
      Type.Literal("timed_out"),
      Type.Null(),
    ]),
    failed_phase: Type.Union([Type.Literal("forward"), Type.Literal("compensation"), Type.Null()]),
    input: Type.Unknown(),
    results: Type.Record(Type.String(), Type.Unknown()),
    error: ErrorInfo,
    attributes: Type.Record(
      Type.String(),
      Type.Union([Type.String(), Type.Number(), Type.Boolean()]),
    ),
    idempotency_key: Nullable(Type.String()),
    correlation_id: Nullable(Type.String()),
    created_at: Type.String({ format: "date-time" }),
    updated_at: Type.String({ format: "date-time" }),
    ended_at: Nullable(Type.String({ format: "date-time" })),
    deadline_at: Nullable(Type.String({ format: "date-time" })),
    event_count: Type.Integer(),
  },
  { $id: "Saga" },
);

export const StartSagaBody = Type.Object(
  {
    saga_type: Type.String({
      minLength: 1,
      maxLength: 200,
      description: "A type from GET /sagas/types/available.",
    }),
    input: Type.Optional(Type.Unknown({ description: "JSON input of the saga (default null)." })),
    idempotency_key: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description: "Same key -> same saga. Also accepted as the Idempotency-Key header.",
      }),
    ),
    version: Type.Optional(
      Type.Integer({ minimum: 1, description: "Definition version (default: the latest)." }),
    ),
    fault: Type.Optional(
      Type.Object(
        {
          step: Type.String({ minLength: 1, maxLength: 200 }),
          attempt: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          phase: Type.Optional(Type.Union([Type.Literal("forward"), Type.Literal("compensation")])),
          message: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
          retryable: Type.Optional(Type.Boolean()),
        },
        {
          additionalProperties: false,
          description: `Rehearse a failure (admin role only): the attempt (default 1) of the step's action (phase forward, the default) or compensation fails with ${ErrorCodes.SAGA_FAULT_INJECTED} instead of running; recorded in SagaStarted.`,
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type StartSagaBody = Static<typeof StartSagaBody>;

export const SagaIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
export type SagaIdParams = Static<typeof SagaIdParams>;

export const ListSagasQuery = Type.Object(
  {
    status: Type.Optional(Type.String({ description: "Comma-separated statuses." })),
    saga_type: Type.Optional(Type.String({ description: "Comma-separated saga types." })),
    created_after: Type.Optional(Type.String({ format: "date-time" })),
    created_before: Type.Optional(Type.String({ format: "date-time" })),
    updated_after: Type.Optional(
      Type.String({
        format: "date-time",
        description: "Last changed at or after (a finished saga: ended at or after).",
      }),
    ),
    updated_before: Type.Optional(
      Type.String({ format: "date-time", description: "Last changed before." }),
    ),
    limit: Type.Optional(
      Type.String({ pattern: "^(1000|[1-9][0-9]{0,2})$", description: "1 to 1000 (default 50)" }),
    ),
    cursor: Type.Optional(Type.String({ maxLength: 500 })),
  },
  {
    additionalProperties: Type.String({ maxLength: 256 }),
    description: "Other parameters filter on recorded attributes, e.g. ?orderId=o-1.",
  },
);

export const SagaPageSchema = Type.Object({
  items: Type.Array(Type.Ref(SagaSchema)),
  next_cursor: Nullable(Type.String()),
});

export const StepSchema = Type.Object({
  name: Type.String(),
  group: Nullable(Type.String()),
  status: Type.String(),
  attempts: Type.Integer(),
  started_at: Nullable(Type.String()),
  ended_at: Nullable(Type.String()),
  duration_ms: Type.Union([Type.Number(), Type.Null()]),
  retry_at: Nullable(Type.String()),
  last_error: ErrorInfo,
  result: Type.Unknown(),
  compensation: Type.Object({
    status: Type.String({
      description: "none | not_needed | running | retrying | completed | failed",
    }),
    attempts: Type.Integer(),
    last_error: ErrorInfo,
    retry_at: Nullable(Type.String()),
    completed_at: Nullable(Type.String()),
  }),
});

export const EventSchema = Type.Object({
  seq: Type.Integer(),
  type: Type.String(),
  at: Type.String({ format: "date-time" }),
  data: Type.Record(Type.String(), Type.Unknown()),
});

export const SagaTypeSchema = Type.Object({
  saga_type: Type.String(),
  versions: Type.Array(
    Type.Object({
      version: Type.Integer(),
      latest: Type.Boolean(),
      timeout_ms: Type.Union([Type.Number(), Type.Null()]),
      steps: Type.Array(
        Type.Object({
          name: Type.String(),
          group: Nullable(Type.String()),
          compensable: Type.Boolean(),
          conditional: Type.Boolean(),
        }),
      ),
    }),
  ),
});
