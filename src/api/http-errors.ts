import type { FastifyError, FastifyInstance } from "fastify";
import { ErrorCodes, SagaError, httpStatusOf, type ErrorCode } from "../core/errors.js";
import type { Json } from "../core/json.js";

/**
 * An error answered to the client as `{ error: { code, message, details } }` with `statusCode`.
 * Its code is one of the registry's; so is whether a retry may help.
 */
export class HttpError extends SagaError {
  override readonly name: string = "HttpError";
  constructor(
    readonly statusCode: number,
    code: ErrorCode,
    message: string,
    details?: Json,
  ) {
    super(code, message, details === undefined ? {} : { details });
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
      const status = httpStatusOf(error.code) ?? 500;
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
            ErrorCodes.VALIDATION_ERROR,
            `invalid request: ${details.map((d) => `${d.path} ${d.message}`).join("; ")}`,
            details,
          ),
        );
    }
    const status = fastifyError.statusCode ?? 500;
    if (status === 429) {
      return reply
        .status(429)
        .send(errorBody(ErrorCodes.RATE_LIMITED, fastifyError.message || "too many requests"));
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
      .send(
        errorBody(
          ErrorCodes.INTERNAL_ERROR,
          "internal error; see the server log for this request id",
        ),
      );
  });

  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send(
        errorBody(
          ErrorCodes.ROUTE_NOT_FOUND,
          `no route ${request.method} ${request.url.split("?")[0]}`,
        ),
      );
  });
}

function httpCode(status: number): string {
  switch (status) {
    case 400:
      return ErrorCodes.BAD_REQUEST;
    case 401:
      return ErrorCodes.UNAUTHORIZED;
    case 403:
      return ErrorCodes.FORBIDDEN;
    case 404:
      return ErrorCodes.SAGA_NOT_FOUND;
    case 405:
      return ErrorCodes.METHOD_NOT_ALLOWED;
    case 413:
      return ErrorCodes.PAYLOAD_TOO_LARGE;
    case 415:
      return ErrorCodes.UNSUPPORTED_MEDIA_TYPE;
    default:
      return `HTTP_${status}`;
  }
}
