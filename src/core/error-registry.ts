/**
 * The one table of error codes (Fastify's `lib/errors.js` is the model): each key is the code
 * itself. Every entry says whether a retry may help, the HTTP status the API answers with it (when
 * the API answers it at all), what it means and what to do. docs/errors.md is generated from this
 * table (`npm run docs:errors`) and test/unit/error-registry.test.ts keeps the two in step.
 *
 * Call sites never write a code as a string: they use `ErrorCodes.<CODE>` from `./errors.js`.
 */

/** The section of docs/errors.md an entry is listed in. */
export type ErrorGroup =
  "saga" | "operation" | "bounds" | "definition" | "api" | "config" | "cli" | "http-step" | "bus";

export interface ErrorSpec {
  readonly group: ErrorGroup;
  /**
   * Whether trying the same thing again may succeed. A `SagaError` with this code takes it unless
   * the raiser says otherwise; a step error with `false` fails the step at once.
   */
  readonly retryable: boolean;
  /** The HTTP status the API answers with this code, when the API answers it. */
  readonly status?: number;
  /** What happened, in one line. */
  readonly meaning: string;
  /** What to do about it. */
  readonly fix: string;
}

export const ErrorRegistry = {
  // ---- sagas and steps: codes recorded in a saga's events ----
  SAGA_STEP_FAILED: {
    group: "saga",
    retryable: true,
    meaning:
      "A step's action (or compensation) threw; the message is the original one. Retried by the step's policy unless it was a `TerminalError`.",
    fix: "Look at the message; throw `TerminalError` when a retry cannot help.",
  },
  SAGA_STEP_TIMEOUT: {
    group: "saga",
    retryable: true,
    meaning: "An attempt ran longer than the step's `timeoutMs`; its signal was aborted.",
    fix: "Raise `timeoutMs`, or make the step honour `signal` and finish sooner.",
  },
  SAGA_COMPENSATION_TIMEOUT: {
    group: "saga",
    retryable: true,
    meaning: "A compensation attempt ran longer than `compensationTimeoutMs`.",
    fix: "As above, for the compensation.",
  },
  SAGA_TIMEOUT: {
    group: "saga",
    retryable: false,
    meaning: "The saga ran past its `timeoutMs` deadline and was compensated.",
    fix: "Raise the saga's `timeoutMs`, or find the slow step in `events(id)`.",
  },
  SAGA_CANCELLED: {
    group: "saga",
    retryable: false,
    meaning: "An operator cancelled the saga; it was compensated.",
    fix: "Nothing to fix.",
  },
  SAGA_STEP_RESULT_NOT_JSON: {
    group: "saga",
    retryable: false,
    meaning:
      "A step returned a value that is not JSON (function, bigint, symbol, NaN, cycle, class instance); the message names the path.",
    fix: "Return plain objects, arrays, strings, numbers, booleans or null.",
  },
  SAGA_NON_ERROR_THROWN: {
    group: "saga",
    retryable: true,
    meaning: "A step threw something that is not an `Error`; the message shows it.",
    fix: "Throw `Error` (or `TerminalError`) instances.",
  },
  SAGA_WORKER_LOST: {
    group: "saga",
    retryable: true,
    meaning:
      "Recorded before the crash-loop rule: an attempt's process died first. Now a lost attempt is re-run and does not use the retry budget.",
    fix: "Nothing; see `SAGA_CRASH_LOOP` for a step that loses its process every time.",
  },
  SAGA_CRASH_LOOP: {
    group: "saga",
    retryable: false,
    meaning:
      "A step (or compensation) lost its process `crashLoopLimit` times in a row (default 5): it fails for good.",
    fix: "The step likely crashes the process (memory, native code, exit): fix it, then `retry` the saga.",
  },
  SAGA_SIBLING_FAILED: {
    group: "saga",
    retryable: false,
    meaning: "A parallel branch was aborted because another branch failed for good.",
    fix: "Fix the branch that failed (it is the saga's `error`).",
  },
  SAGA_FAULT_INJECTED: {
    group: "saga",
    retryable: false,
    meaning:
      "A rehearsal: the saga was started with a `fault` and this attempt failed on purpose (`details.injected` is true; `fault.retryable` may make it retryable).",
    fix: "Nothing to fix in the saga; look at how its compensation went.",
  },
  SAGA_WAIT_TIMEOUT: {
    group: "saga",
    retryable: false,
    meaning:
      "A `wait` step's timeout passed before the event it waits for arrived; the saga compensates.",
    fix: "Check that the event is published with the matched value at the matched path; raise `timeout_seconds`.",
  },
  SAGA_CHILD_FAILED: {
    group: "saga",
    retryable: false,
    meaning:
      "A child saga (`saga` step) did not complete (it compensated or failed), so the parent's step failed; or a child could not be compensated yet (that compensation is retried).",
    fix: "Look at the child saga named in the message.",
  },
  SAGA_COMPENSATION_REQUESTED: {
    group: "saga",
    retryable: false,
    meaning:
      "The reason recorded when a completed saga is undone on request (`orch.compensate`, or its parent compensating).",
    fix: "Nothing to fix.",
  },

  // ---- operations: library calls and the API on them ----
  SAGA_UNKNOWN_TYPE: {
    group: "operation",
    retryable: false,
    status: 400,
    meaning:
      "`start` named a saga type or version this orchestrator was not given (404 from `GET /definitions/{name}/versions`).",
    fix: "Pass the definition in `sagas`, or start a version that exists.",
  },
  SAGA_INVALID_INPUT: {
    group: "operation",
    retryable: false,
    status: 400,
    meaning:
      "The saga input, the idempotency key or another argument (limit, cursor, date, sleep/wait duration, attributes) is not acceptable; the message says why.",
    fix: "Pass JSON input and a key of 1–255 characters; fix the argument named in the message.",
  },
  SAGA_NOT_FOUND: {
    group: "operation",
    retryable: false,
    status: 404,
    meaning: "No saga with this id in this tenant.",
    fix: "Check the id and the tenant.",
  },
  SAGA_INVALID_STATE: {
    group: "operation",
    retryable: false,
    status: 409,
    meaning:
      "The operation does not fit the saga's status (retry of a saga that is not failed, cancel of an ended saga), or an idempotency key already used by another saga type.",
    fix: "Read the saga's status first; use a new idempotency key.",
  },
  SAGA_VERSION_CONFLICT: {
    group: "operation",
    retryable: false,
    status: 409,
    meaning: "Another writer appended to the saga's (or event) stream first.",
    fix: "Internal for sagas: the engine handles it. For `appendToStream`, read the stream and append again at its version.",
  },
  SAGA_LEASE_LOST: {
    group: "operation",
    retryable: false,
    meaning: "This worker's lease expired or was taken over; its write was refused.",
    fix: "Internal; another worker carries on. Frequent occurrences mean `leaseMs` is too short for the pauses your process makes.",
  },
  SAGA_ORCHESTRATOR_CLOSED: {
    group: "operation",
    retryable: false,
    status: 503,
    meaning: "The orchestrator was closed.",
    fix: "Create a new one.",
  },
  SAGA_STORE_ERROR: {
    group: "operation",
    retryable: true,
    status: 503,
    meaning: "The database failed.",
    fix: "Check the database; the engine retries its writes until its lease expires.",
  },
  SAGA_STORE_LOCKED: {
    group: "operation",
    retryable: false,
    meaning:
      "A PGlite data directory is open in another live process (the pid is in the message); PGlite allows one process at a time.",
    fix: "Stop the other process, or use PostgreSQL (`DATABASE_URL`) for several processes.",
  },
  SAGA_INVALID_TRANSITION: {
    group: "operation",
    retryable: false,
    meaning:
      "An event does not fit the state it is applied to (a corrupt or foreign event stream).",
    fix: "Report it: it means stored history was changed.",
  },

  // ---- input bounds ----
  SAGA_JSON_TOO_DEEP: {
    group: "bounds",
    retryable: false,
    status: 400,
    meaning:
      "A JSON value from outside (request body, bus message, downstream answer, step result, event data, saga input) is nested deeper than 64 levels. Answer: terminal step error; bus entry: dead-lettered.",
    fix: "Flatten the document; 64 levels is the bound everywhere (`docs/security/input-bounds.md`).",
  },
  SAGA_JSON_TOO_LARGE: {
    group: "bounds",
    retryable: false,
    status: 413,
    meaning:
      "A JSON value is larger than the bound where it enters (e.g. bus message data over 1 MiB).",
    fix: "Send less; move large payloads out of band and pass a reference.",
  },
  SAGA_JSON_BAD_STRING: {
    group: "bounds",
    retryable: false,
    status: 400,
    meaning:
      "A string or key holds a NUL character or a lone surrogate (PostgreSQL cannot store either).",
    fix: "Remove NUL characters; send well-formed UTF-16/UTF-8 text.",
  },
  SAGA_JSON_BAD_NUMBER: {
    group: "bounds",
    retryable: false,
    status: 400,
    meaning: "A number is out of range (`1e400` parses as Infinity).",
    fix: "Send finite numbers (or large values as strings).",
  },
  SAGA_JSON_FORBIDDEN_KEY: {
    group: "bounds",
    retryable: false,
    status: 400,
    meaning:
      "A request body holds a `__proto__` key or `constructor.prototype` (prototype poisoning).",
    fix: "Rename the key.",
  },
  SAGA_STEP_RESULT_TOO_LARGE: {
    group: "bounds",
    retryable: false,
    meaning:
      "A step's result is larger than the step result quota (default 1 MiB, `SAGA_MAX_STEP_RESULT_BYTES` / `maxStepResultBytes`).",
    fix: "Return less (an id instead of the document), or raise the quota.",
  },
  SAGA_EVENT_TOO_LARGE: {
    group: "bounds",
    retryable: false,
    status: 413,
    meaning:
      "An event's data is larger than the event quota (default 256 KiB, `SAGA_MAX_EVENT_BYTES`).",
    fix: "Publish less, or raise the quota (at most 1 MiB).",
  },
  SAGA_REPLAY_TOO_LARGE: {
    group: "bounds",
    retryable: false,
    status: 413,
    meaning:
      "A replay would write more events than the replay quota (default 10,000, `SAGA_MAX_REPLAY_EVENTS`).",
    fix: "Replay from a later `from_version`, in parts.",
  },
  SAGA_DURATION_TOO_LONG: {
    group: "bounds",
    retryable: false,
    status: 400,
    meaning:
      "A timeout, deadline, sleep or wait is longer than 365 days, or a retry delay longer than a day. `defineSaga`/definitions: refused; `sleep`/`waitForEvent`: the step fails.",
    fix: "Use a shorter duration (`docs/security/input-bounds.md` lists every maximum).",
  },

  // ---- definitions, templates and secrets ----
  SAGA_INVALID_DEFINITION: {
    group: "definition",
    retryable: false,
    status: 400,
    meaning:
      "`defineSaga` (or a definition document) has problems; `details` lists each one with its path.",
    fix: "Fix the definition as listed.",
  },
  SAGA_DEFINITION_CONFLICT: {
    group: "definition",
    retryable: false,
    status: 409,
    meaning: "A definition with this name and version exists with other content.",
    fix: "Register a new version; versions never change.",
  },
  SAGA_DEFINITION_TOO_LARGE: {
    group: "definition",
    retryable: false,
    meaning: "The document is larger than 256 KiB as JSON (path `$`).",
    fix: "Split it; move large literal bodies out.",
  },
  SAGA_DEFINITION_TOO_DEEP: {
    group: "definition",
    retryable: false,
    meaning: "Objects/arrays nest deeper than 32 levels.",
    fix: "Flatten the templates.",
  },
  SAGA_DEFINITION_TOO_MANY_STEPS: {
    group: "definition",
    retryable: false,
    meaning: "More than 100 steps (parallel branches counted).",
    fix: "Split the work into child sagas.",
  },
  SAGA_DEFINITION_TOO_MANY_BRANCHES: {
    group: "definition",
    retryable: false,
    meaning: "A parallel group has more than 32 branches.",
    fix: "Use fewer branches, or child sagas.",
  },
  SAGA_DEFINITION_TOO_MANY_CHILDREN: {
    group: "definition",
    retryable: false,
    meaning: "More than 32 `saga` steps, or child sagas nested more than 8 levels deep.",
    fix: "Flatten the tree of child sagas.",
  },
  SAGA_TEMPLATE_INVALID: {
    group: "definition",
    retryable: false,
    meaning:
      "A template does not parse: unclosed `{{`, a brace inside a placeholder, a bad path or default.",
    fix: "Fix the template at `path`.",
  },
  SAGA_TEMPLATE_TOO_LONG: {
    group: "definition",
    retryable: false,
    meaning:
      "A template string is longer than 16,384 characters, or a placeholder longer than 1,024.",
    fix: "Shorten it.",
  },
  SAGA_PLATFORM_SECRET_FORBIDDEN: {
    group: "definition",
    retryable: false,
    meaning:
      "A tenant's definition names a platform secret `{{secrets.NAME}}`: refused at registration and at dispatch.",
    fix: "Use a tenant secret: `PUT /secrets/NAME`, `{{tenant_secrets.NAME}}`.",
  },
  SAGA_SECRET_NOT_FOUND: {
    group: "definition",
    retryable: false,
    status: 404,
    meaning: "No tenant secret with this name.",
    fix: "Check `GET /secrets`.",
  },
  SAGA_INVALID_SECRET: {
    group: "definition",
    retryable: false,
    status: 400,
    meaning:
      "Bad secret name or value (8–8192 characters, no NUL/CR/LF), or a stored value the configured `SAGA_SECRETS_KEY` cannot open.",
    fix: "Fix it; after changing the key, write the secret again.",
  },

  // ---- the HTTP API's own boundaries (auth, quotas, streams, headers, framework) ----
  VALIDATION_ERROR: {
    group: "api",
    retryable: false,
    status: 400,
    meaning:
      "The request does not match the endpoint's schema; `details` lists each problem with its path.",
    fix: "Fix the request as listed (see `/docs`).",
  },
  BAD_REQUEST: {
    group: "api",
    retryable: false,
    status: 400,
    meaning:
      "The body is empty (with `content-type: application/json`), or the router refused the URL (bad percent-encoding).",
    fix: "Send a JSON document; encode the URL.",
  },
  INVALID_JSON: {
    group: "api",
    retryable: false,
    status: 400,
    meaning: "The body is not valid JSON. (Bounds: `SAGA_JSON_*` codes.)",
    fix: "Send JSON.",
  },
  UNAUTHORIZED: {
    group: "api",
    retryable: false,
    status: 401,
    meaning: "No credentials, and the server requires them.",
    fix: "Send `X-API-Key` or `Authorization: Bearer <JWT>`.",
  },
  INVALID_API_KEY: {
    group: "api",
    retryable: false,
    status: 401,
    meaning: "The API key is not one of the server's keys.",
    fix: "Use a configured key.",
  },
  INVALID_TOKEN: {
    group: "api",
    retryable: false,
    status: 401,
    meaning:
      "The JWT is malformed, unsigned, signed with another key, or lacks `exp` or the tenant claim.",
    fix: "Issue a token signed with the server's secret/JWKS, with `exp` and the tenant claim.",
  },
  TOKEN_EXPIRED: {
    group: "api",
    retryable: false,
    status: 401,
    meaning: "The JWT's `exp` has passed.",
    fix: "Get a new token.",
  },
  METRICS_UNAUTHORIZED: {
    group: "api",
    retryable: false,
    status: 401,
    meaning: "`METRICS_TOKEN` is set and the scrape did not send it.",
    fix: "Send `Authorization: Bearer <METRICS_TOKEN>` (Prometheus `authorization.credentials`).",
  },
  INVALID_CORRELATION_ID: {
    group: "api",
    retryable: false,
    status: 400,
    meaning:
      "`X-Correlation-ID` (or `metadata.correlation_id`) is not 1–128 characters of `A-Z a-z 0-9 . _ : -`.",
    fix: "Send a well-formed id, or none (the server makes one).",
  },
  RESERVED_IDEMPOTENCY_KEY: {
    group: "api",
    retryable: false,
    status: 400,
    meaning:
      "The idempotency key has a form the engine uses itself (`<saga id>:<step>…`, `event:…`).",
    fix: "Choose another key.",
  },
  RESERVED_METADATA_KEY: {
    group: "api",
    retryable: false,
    status: 400,
    meaning:
      "Event metadata names a bus header the engine sets (`x-*`, `traceparent`, `tracestate`, `idempotency-key`).",
    fix: "Rename the metadata key.",
  },
  QUOTA_EXCEEDED: {
    group: "api",
    retryable: false,
    status: 403,
    meaning:
      "A tenant quota is used up (`details.quota`: `definitions`, `SAGA_QUOTA_DEFINITIONS`).",
    fix: "Remove what you no longer need, or ask the operator to raise the quota.",
  },
  START_RATE_LIMITED: {
    group: "api",
    retryable: true,
    status: 429,
    meaning:
      "The tenant started more sagas per second than `SAGA_QUOTA_STARTS_PER_SECOND` (burst: 2 s' worth).",
    fix: "Retry after `details.retry_after_seconds`; spread starts out.",
  },
  TOO_MANY_STREAMS: {
    group: "api",
    retryable: true,
    status: 429,
    meaning:
      "Too many open SSE streams for your principal, tenant or the server (`details.scope`, `details.limit`).",
    fix: "Close streams you no longer read; raise `SAGA_STREAMS_PER_*` / `SAGA_STREAMS_MAX`.",
  },
  FORBIDDEN: {
    group: "api",
    retryable: false,
    status: 403,
    meaning: "Your role does not allow this (viewer < operator < admin).",
    fix: "Use a key/token with the role named in the message.",
  },
  ROUTE_NOT_FOUND: {
    group: "api",
    retryable: false,
    status: 404,
    meaning: "No such route.",
    fix: "See `/docs`.",
  },
  NOT_FOUND: {
    group: "api",
    retryable: false,
    status: 404,
    meaning:
      "A 404 raised by the framework, or a path the worker's probe server (`saga worker`) does not serve.",
    fix: "A worker serves `/health/live`, `/health/ready`, `/health` and `/metrics` only.",
  },
  STREAM_NOT_FOUND: {
    group: "api",
    retryable: false,
    status: 404,
    meaning:
      "No event stream with this id in your tenant (`/events/stream/{id}`, `/events/replay/{id}`).",
    fix: "Check the stream id; a stream exists once something was appended to it.",
  },
  DEAD_LETTER_NOT_FOUND: {
    group: "api",
    retryable: false,
    status: 404,
    meaning: "No dead letter with that id in your tenant (`/dead-letters/{id}`).",
    fix: "List them: `GET /dead-letters` or `saga dead-letters list`.",
  },
  METHOD_NOT_ALLOWED: {
    group: "api",
    retryable: false,
    status: 405,
    meaning: "The route does not accept this method.",
    fix: "See `/docs`.",
  },
  PAYLOAD_TOO_LARGE: {
    group: "api",
    retryable: false,
    status: 413,
    meaning: "The body is larger than `SAGA_BODY_LIMIT_BYTES`.",
    fix: "Send less, or raise the limit.",
  },
  URI_TOO_LONG: {
    group: "api",
    retryable: false,
    status: 414,
    meaning: "The URL is longer than the router accepts.",
    fix: "Send a shorter URL (filters in the query string, fewer of them).",
  },
  UNSUPPORTED_MEDIA_TYPE: {
    group: "api",
    retryable: false,
    status: 415,
    meaning: "The body is not `application/json`.",
    fix: "Send `content-type: application/json`.",
  },
  RATE_LIMITED: {
    group: "api",
    retryable: true,
    status: 429,
    meaning:
      "Too many requests from this key/tenant this minute, or too many failed authentications from this address; `Retry-After` says when to retry.",
    fix: "Slow down, or raise `SAGA_RATE_LIMIT_PER_MINUTE`.",
  },
  INTERNAL_ERROR: {
    group: "api",
    retryable: true,
    status: 500,
    meaning:
      "A bug or an unexpected failure; the server log has it under the response's `X-Correlation-ID`.",
    fix: "Report it with the correlation id.",
  },
  CONSOLE_NOT_BUILT: {
    group: "api",
    retryable: false,
    status: 503,
    meaning: "`/ui` was asked for but the web console was not built.",
    fix: "Run `npm ci` (or `npm run build -w ui`) and restart.",
  },

  // ---- configuration ----
  SAGA_INVALID_CONFIG: {
    group: "config",
    retryable: false,
    meaning:
      "An environment variable (or `.env` / `NAME_FILE` file, service URL, `SAGA_HTTP_ALLOWLIST` entry) has a value that cannot be used, or an unknown `SAGA_*` variable is set; the one-line message names it. The CLI exits with status 2.",
    fix: "Fix or remove the variable.",
  },

  // ---- the `saga` command ----
  SAGA_CLI_USAGE: {
    group: "cli",
    retryable: false,
    meaning:
      "The command line is not one `saga` understands (unknown command, missing argument, bad option, unreadable file); exit status 2.",
    fix: "See `saga --help`.",
  },
  SAGA_CLI_REQUEST_FAILED: {
    group: "cli",
    retryable: true,
    meaning:
      "`saga` could not reach the service, or the service answered with an error (its code leads the message); exit status 1.",
    fix: "Check `--url` and that `saga serve` runs; for a service error, look its code up in this page.",
  },

  // ---- declarative http steps ----
  SAGA_HTTP_5XX: {
    group: "http-step",
    retryable: true,
    meaning: "The service answered 5xx; `details.retryAfterMs` when it sent `Retry-After`.",
    fix: "Check the service; the step retries.",
  },
  SAGA_HTTP_429: {
    group: "http-step",
    retryable: true,
    meaning: "The service is rate limiting; `details.retryAfterMs` holds its Retry-After.",
    fix: "Nothing, or slow the sagas down.",
  },
  SAGA_HTTP_NETWORK: {
    group: "http-step",
    retryable: true,
    meaning: "Connection refused/reset, DNS failure, TLS failure.",
    fix: "Check the service URL and that it is up.",
  },
  SAGA_HTTP_TIMEOUT: {
    group: "http-step",
    retryable: true,
    meaning: "No full answer within `timeout_ms`; the request was aborted.",
    fix: "Raise `timeout_ms`, or make the service faster.",
  },
  SAGA_HTTP_ABORTED: {
    group: "http-step",
    retryable: true,
    meaning: "The attempt was aborted (engine timeout, cancel, deadline, sibling failure).",
    fix: "Nothing.",
  },
  SAGA_HTTP_4XX: {
    group: "http-step",
    retryable: false,
    meaning:
      "The service refused the request (another 4xx). Retryable only when the status is listed in `retryable_statuses`.",
    fix: "Fix the request or the data; list the status as retryable if it is transient.",
  },
  SAGA_HTTP_UNEXPECTED_STATUS: {
    group: "http-step",
    retryable: false,
    meaning:
      "A status outside `success_statuses` that is not an error class (e.g. a 3xx with redirects off).",
    fix: "Adjust `success_statuses`.",
  },
  SAGA_HTTP_FORBIDDEN_DESTINATION: {
    group: "http-step",
    retryable: false,
    meaning:
      "The URL or a resolved address is not allowed (loopback, private, link-local, metadata, or a host outside the service URLs and `SAGA_HTTP_ALLOWLIST`). No connection was made.",
    fix: "Configure the service URL, or add the host/CIDR to `SAGA_HTTP_ALLOWLIST` if it is legitimate.",
  },
  SAGA_HTTP_REDIRECT_REFUSED: {
    group: "http-step",
    retryable: false,
    meaning: "Too many redirects, or a redirect that would send a secret elsewhere.",
    fix: "Point the step at the final URL.",
  },
  SAGA_HTTP_RESPONSE_TOO_LARGE: {
    group: "http-step",
    retryable: false,
    meaning: "The response is larger than `max_response_bytes`.",
    fix: "Raise the limit, or ask for less.",
  },
  SAGA_HTTP_INVALID_RESPONSE: {
    group: "http-step",
    retryable: false,
    meaning: "The response says JSON but does not parse.",
    fix: "Fix the service.",
  },
  SAGA_HTTP_INVALID_REQUEST: {
    group: "http-step",
    retryable: false,
    meaning:
      "The request could not be built (unknown service name, missing secret, bad header, bad URL).",
    fix: "Set the service's URL variable or the secret; fix the definition.",
  },
  SAGA_HTTP_PATH_TRAVERSAL: {
    group: "http-step",
    retryable: false,
    meaning:
      "A path placeholder's value (or the path) would make a `.` or `..` segment or leave the templated prefix. Nothing was sent.",
    fix: "Fix the input; an id is never `.` or `..`.",
  },

  // ---- the event bus ----
  SAGA_BUS_UNAVAILABLE: {
    group: "bus",
    retryable: true,
    meaning:
      "Redis does not answer or refused the command; the relay retries (nothing is lost: the outbox keeps the events).",
    fix: "Start Redis / check `REDIS_URL`.",
  },
  SAGA_BUS_CLOSED: {
    group: "bus",
    retryable: false,
    meaning: "The bus was closed (shutdown); nothing more can be published or subscribed.",
    fix: "Nothing.",
  },
  SAGA_BUS_INVALID_MESSAGE: {
    group: "bus",
    retryable: false,
    meaning:
      "A published message is not valid (missing id/type, data not JSON, non-string header); nothing of its batch was published.",
    fix: "Publish JSON data with an id and a type.",
  },
  SAGA_BUS_MALFORMED_ENTRY: {
    group: "bus",
    retryable: false,
    meaning:
      "A stream entry could not be decoded, or its data is refused (deeper than 64 levels, over 1 MiB, NUL, lone surrogate, out-of-range number); it went to the dead-letter stream with the reason.",
    fix: "Inspect `<stream>:dead`; fix the producer.",
  },
  SAGA_BUS_INVALID_OPTIONS: {
    group: "bus",
    retryable: false,
    meaning:
      "Bus or subscribe options are invalid (empty group or consumer, maxDeliveries below 1…).",
    fix: "Fix the options.",
  },
  SAGA_BUS_UNEXPECTED_REPLY: {
    group: "bus",
    retryable: false,
    meaning: "Redis answered with a reply of a shape it should not give.",
    fix: "Report it (with the Redis version).",
  },
  SAGA_BUS_PARTIAL_BATCH: {
    group: "bus",
    retryable: true,
    meaning:
      "Some messages of a batch failed (a trigger mapping that throws, a row the store refuses): the others are acknowledged, these are delivered again — then dead-lettered — each with its own error.",
    fix: "Look at each message's own error.",
  },
} as const satisfies Record<string, ErrorSpec>;
