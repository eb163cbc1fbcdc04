import { randomUUID } from "node:crypto";
import "@fastify/swagger";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import rateLimit from "@fastify/rate-limit";
import Fastify, { LogController, type FastifyInstance, type FastifyBaseLogger } from "fastify";
import type { ServiceConfig } from "../config/config.js";
import type { EventStore } from "../engine/event-store-port.js";
import type { Orchestrator } from "../engine/orchestrator.js";
import type { SagaMetrics } from "../telemetry/metrics.js";
import { createAuthenticator } from "./auth.js";
import { FailedAuthLimiter } from "./failed-auth-limiter.js";
import { HttpError, errorBody, installErrorHandlers } from "./http-errors.js";
import { eventRoutes } from "./routes/events.js";
import { healthRoutes, type HealthInfo } from "./routes/health.js";
import { metricsRoutes } from "./routes/metrics.js";
import { openStreams } from "./routes/saga-stream.js";
import { sagaRoutes } from "./routes/sagas.js";
import { definitionRoutes } from "./routes/definitions.js";
import { consoleRoutes } from "./routes/console.js";
import type { DefinitionCatalog } from "../definitions/catalog.js";
import { ErrorSchema, SagaSchema } from "./schemas.js";

export interface ServerDeps {
  orchestrator: Orchestrator;
  config: ServiceConfig;
  metrics: SagaMetrics;
  health: HealthInfo;
  /** Sagas as data: /definitions and /schemas routes (absent: not served). */
  definitions?: DefinitionCatalog;
  /** The event store behind the Events API (/events/*); no such routes without it. */
  events?: EventStore;
  logger?: FastifyBaseLogger | false;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route needs no credentials (health, metrics, docs). */
    public?: boolean;
  }
}

/**
 * The HTTP API: routes, schemas (-> OpenAPI at /openapi.json, docs at /docs), auth and tenancy,
 * rate limits, correlation ids. No saga logic lives here: every route calls the orchestrator.
 */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger || undefined,
    logger: deps.logger === undefined ? false : undefined,
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: "x-correlation-id",
    logController: new LogController({ requestIdLogLabel: "correlationId" }),
    genReqId: () => randomUUID(),
    // No type coercion: a body's "version": "1" is a 400, not a 1 (query numbers are parsed by routes).
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: true,
        allErrors: true,
      },
    },
    // Router-level errors (too-long URL, bad percent-encoding) answer in our JSON shape too.
    frameworkErrors: (error, _request, reply) => {
      const status = (error as { statusCode?: number }).statusCode ?? 400;
      const raw = reply as unknown as { status(code: number): { send(body: unknown): void } };
      raw
        .status(status)
        .send(errorBody(status === 414 ? "URI_TOO_LONG" : "BAD_REQUEST", error.message));
    },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  installErrorHandlers(app);
  // Only JSON bodies: text/plain would otherwise reach validation and answer 400 instead of 415.
  app.removeContentTypeParser("text/plain");
  app.addSchema(ErrorSchema);
  app.addSchema(SagaSchema);

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "saga-orchestrator",
        version: deps.health.version,
        description:
          "Durable sagas over HTTP. Authenticate with X-API-Key or Authorization: Bearer <JWT> (roles viewer, operator, admin; every object belongs to the caller's tenant). Errors are `{ error: { code, message, details } }`.",
      },
      components: {
        securitySchemes: {
          apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
          bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
      tags: [
        { name: "sagas", description: "Start, list, inspect, cancel and retry sagas" },
        { name: "events", description: "Publish, read and replay domain events" },
        { name: "health", description: "Probes and metrics (no credentials needed)" },
      ],
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) =>
        typeof json.$id === "string" ? json.$id : `def-${i}`,
    },
  });
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    uiConfig: { docExpansion: "list", deepLinking: true },
  });
  app.get("/openapi.json", { config: { public: true }, schema: { hide: true } }, () =>
    app.swagger(),
  );

  const authenticator = createAuthenticator(config);
  const failedAuth = new FailedAuthLimiter(
    Math.max(10, Math.floor(config.rateLimitPerMinute / 10)),
  );
  app.decorateRequest("principal", null);
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-correlation-id", request.id);
    const isPublic = request.routeOptions.config.public === true || request.url.startsWith("/docs");
    if (isPublic || request.is404) return;
    const wait = failedAuth.blockedFor(request.ip);
    if (wait > 0) {
      reply.header("retry-after", String(wait));
      throw new HttpError(
        429,
        "RATE_LIMITED",
        `too many failed authentications from this address; retry in ${wait} s`,
      );
    }
    try {
      request.principal = await authenticator.authenticate(request);
    } catch (error) {
      if (error instanceof HttpError && error.statusCode === 401)
        failedAuth.recordFailure(request.ip);
      throw error;
    }
  });

  await app.register(rateLimit, {
    hook: "preHandler",
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) =>
      request.principal ? `${request.principal.tenantId}:${request.principal.subject}` : request.ip,
    allowList: (request) => request.routeOptions.config.public === true,
  });

  // Open SSE streams would hold app.close() until their sagas end: end them when closing starts.
  app.addHook("preClose", (done) => {
    for (const end of [...openStreams]) end();
    done();
  });
  healthRoutes(app, deps.orchestrator, deps.health);
  metricsRoutes(app, deps.metrics);
  sagaRoutes(app, deps.orchestrator);
  if (deps.definitions) definitionRoutes(app, deps.definitions);
  if (deps.events) eventRoutes(app, deps.events);
  consoleRoutes(app, deps.orchestrator);
  return app;
}
