import type { FastifyError, FastifyInstance } from "fastify";
import { ErrorCodes, SagaError } from "../core/errors.js";

/** The one place saga error codes become HTTP statuses. */
const STATUS_OF: Record<string, number> = {
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.UNKNOWN_SAGA_TYPE]: 400,
  [ErrorCodes.INVALID_INPUT]: 400,
  [ErrorCodes.INVALID_DEFINITION]: 400,
  [ErrorCodes.INVALID_STATE]: 409,
  [ErrorCodes.VERSION_CONFLICT]: 409,
  [ErrorCodes.DEFINITION_CONFLICT]: 409,
  [ErrorCodes.CLOSED]: 503,
  [ErrorCodes.STORE_ERROR]: 503,
  [ErrorCodes.JSON_TOO_DEEP]: 400,
  [ErrorCodes.JSON_BAD_STRING]: 400,
  [ErrorCodes.JSON_BAD_NUMBER]: 400,
  [ErrorCodes.JSON_TOO_LARGE]: 413,
  [ErrorCodes.EVENT_TOO_LARGE]: 413,
  [ErrorCodes.REPLAY_TOO_LARGE]: 413,
  [ErrorCodes.DURATION_TOO_LONG]: 400,
};

/** An error answered to the client as `{ error: { code, message, details } }`. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** Every error leaves as JSON with a stable code; never a stack trace. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpError | SagaError | Error, request, reply) => {
    if (error instanceof HttpError) {
      return reply
        .status(error.statusCode)
        .send(errorBody(error.code, error.message, error.details));
    }
    if (error instanceof SagaError) {
      const status = STATUS_OF[error.code] ?? 500;
      if (status >= 500) request.log.error({ err: error }, "request failed");
      return reply
        .status(status)
        .send(errorBody(error.code, error.message, error.details ?? undefined));
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) {
      const details = fastifyError.validation.map((v) => ({
        path: `${fastifyError.validationContext ?? "body"}${v.instancePath || ""}`,
        message: v.message ?? "invalid",
        ...(v.params && Object.keys(v.params).length > 0 ? { params: v.params } : {}),
      }));
      return reply
        .status(400)
        .send(
          errorBody(
            "VALIDATION_ERROR",
            `invalid request: ${details.map((d) => `${d.path} ${d.message}`).join("; ")}`,
            details,
          ),
        );
    }
    const status = fastifyError.statusCode ?? 500;
    if (status === 429) {
      return reply
        .status(429)
        .send(errorBody("RATE_LIMITED", fastifyError.message || "too many requests"));
    }
    if (status >= 400 && status < 500) {
      const code = fastifyError.code?.startsWith("FST_")
        ? httpCode(status)
        : (fastifyError.code ?? httpCode(status));
      return reply.status(status).send(errorBody(code, fastifyError.message));
    }
    request.log.error({ err: error }, "unhandled error");
    return reply
      .status(500)
      .send(errorBody("INTERNAL_ERROR", "internal error; see the server log for this request id"));
  });

  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send(
        errorBody("ROUTE_NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0]}`),
      );
  });
}

function httpCode(status: number): string {
  switch (status) {
    case 400:
      return "BAD_REQUEST";
    case 401:
      return "UNAUTHORIZED";
    case 403:
      return "FORBIDDEN";
    case 404:
      return "NOT_FOUND";
    case 405:
      return "METHOD_NOT_ALLOWED";
    case 413:
      return "PAYLOAD_TOO_LARGE";
    case 415:
      return "UNSUPPORTED_MEDIA_TYPE";
    default:
      return `HTTP_${status}`;
  }
}
