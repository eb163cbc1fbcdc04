import { Type, type Static, type TSchema } from "@sinclair/typebox";

/** The JSON Schema of a saga definition document (docs/definitions.md). Served at /schemas/saga-definition.json. */
const Name = Type.String({ pattern: "^[A-Za-z0-9_.:-]{1,200}$" });
const Template = Type.Unknown({ description: "JSON with {{ path }} placeholders" });
const Retry = Type.Object(
  {
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    initial_delay_ms: Type.Optional(Type.Number({ minimum: 0 })),
    backoff: Type.Optional(Type.Number({ minimum: 1 })),
    max_delay_ms: Type.Optional(Type.Number({ minimum: 0 })),
    jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
);
const When = Type.Union([
  Type.String({ description: "a template; the step runs when it renders truthy" }),
  Type.Object(
    {
      path: Type.String(),
      equals: Type.Optional(Type.Unknown()),
      not_equals: Type.Optional(Type.Unknown()),
      in: Type.Optional(Type.Array(Type.Unknown())),
      exists: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
]);
const Request = Type.Object(
  {
    service: Type.String({ minLength: 1 }),
    method: Type.Optional(Type.String()),
    path: Type.Optional(Type.String()),
    query: Type.Optional(Type.Record(Type.String(), Template)),
    headers: Type.Optional(Type.Record(Type.String(), Template)),
    body: Type.Optional(Template),
    success_statuses: Type.Optional(Type.Array(Type.Union([Type.Integer(), Type.String()]))),
    retryable_statuses: Type.Optional(Type.Array(Type.Union([Type.Integer(), Type.String()]))),
    result: Type.Optional(Template),
    timeout_ms: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    max_redirects: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
    max_response_bytes: Type.Optional(Type.Integer({ minimum: 1 })),
    callback_urls: Type.Optional(
      Type.Array(Type.String({ maxLength: 200 }), {
        maxItems: 16,
        description:
          "where the request carries URLs a service will call (body.x, query.x, headers.X)",
      }),
    ),
  },
  { additionalProperties: false },
);
const Common = {
  name: Name,
  when: Type.Optional(When),
  timeout_seconds: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  retry: Type.Optional(Retry),
};
const HttpStep = Type.Object(
  {
    ...Common,
    kind: Type.Optional(Type.Literal("http")),
    request: Request,
    compensation: Type.Union([
      Type.Literal("none"),
      Type.Object(
        { request: Request, retry: Type.Optional(Retry) },
        { additionalProperties: false },
      ),
    ]),
  },
  { additionalProperties: false },
);
const PublishStep = Type.Object(
  {
    ...Common,
    kind: Type.Literal("publish"),
    event: Type.Object(
      {
        type: Type.String({ minLength: 1 }),
        key: Type.Optional(Template),
        data: Type.Optional(Template),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
const WaitStep = Type.Object(
  {
    ...Common,
    kind: Type.Literal("wait"),
    event: Type.String({ minLength: 1 }),
    match: Type.Object(
      { path: Type.String({ minLength: 1 }), equals: Template },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
const SleepStep = Type.Object(
  { ...Common, kind: Type.Literal("sleep"), seconds: Type.Number({ minimum: 0 }) },
  { additionalProperties: false },
);
const SagaStep = Type.Object(
  {
    ...Common,
    kind: Type.Literal("saga"),
    saga: Name,
    version: Type.Optional(Type.Integer({ minimum: 1 })),
    input: Type.Optional(Template),
  },
  { additionalProperties: false },
);
export const StepSchemas = {
  http: HttpStep,
  publish: PublishStep,
  wait: WaitStep,
  sleep: SleepStep,
  saga: SagaStep,
} as const;
const LeafStep = Type.Union([HttpStep, PublishStep, WaitStep, SleepStep, SagaStep]);
export const ParallelStepSchema = Type.Object(
  { name: Name, parallel: Type.Array(LeafStep, { minItems: 1 }) },
  { additionalProperties: false },
);

export const SagaDocumentSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    name: Name,
    version: Type.Integer({ minimum: 1 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    timeout_seconds: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    step_timeout_seconds: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    on_failure: Type.Optional(Type.Union([Type.Literal("compensate"), Type.Literal("pause")])),
    retry: Type.Optional(Retry),
    attributes: Type.Optional(
      Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_.-]{0,63}$" }), Template),
    ),
    triggers: Type.Optional(
      Type.Array(
        Type.Object(
          { event: Type.String({ minLength: 1 }), input: Type.Optional(Template) },
          { additionalProperties: false },
        ),
      ),
    ),
    steps: Type.Array(Type.Union([LeafStep, ParallelStepSchema]), { minItems: 1 }),
  },
  {
    additionalProperties: false,
    $id: "https://saga-orchestrator.dev/schemas/saga-definition.json",
    title: "Saga definition",
  },
);

export type SagaDocument = Static<typeof SagaDocumentSchema>;
export type LeafStepDocument = Static<typeof LeafStep>;
export type ParallelStepDocument = Static<typeof ParallelStepSchema>;
export type RetryDocument = Static<typeof Retry>;
export type WhenDocument = Static<typeof When>;

/** The schema as plain JSON Schema (TypeBox symbols stripped). */
export function sagaDocumentJsonSchema(): TSchema {
  return JSON.parse(JSON.stringify(SagaDocumentSchema)) as TSchema;
}
