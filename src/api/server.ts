import { ErrorCodes } from "../core/errors.js";
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
import type { Tracer } from "@opentelemetry/api";
import { installTracingHook } from "./tracing-hook.js";
import { createAuthenticator } from "./auth.js";
import { FailedAuthLimiter } from "./failed-auth-limiter.js";
import { HttpError, errorBody, installErrorHandlers } from "./http-errors.js";
import { installJsonBodyParser } from "./json-body.js";
import { eventRoutes } from "./routes/events.js";
import { healthRoutes, type HealthInfo } from "./routes/health.js";
import { metricsRoutes } from "./routes/metrics.js";
import { CORRELATION_ID_MAX, isCorrelationId } from "./correlation-id.js";
import { StartQuota } from "./start-quota.js";
import { StreamHub } from "./stream-hub.js";
import { installHttpMetrics } from "./http-metrics-hook.js";
import { sagaRoutes } from "./routes/sagas.js";
import { seedAliasRoutes } from "./routes/seed-aliases.js";
import { definitionRoutes } from "./routes/definitions.js";
import { secretRoutes } from "./routes/secrets.js";
import type { TenantSecrets } from "../steps/secrets/tenant-secrets.js";
import { deadLetterRoutes } from "./routes/dead-letters.js";
import type { DeadLetterAdmin } from "../engine/dead-letter-port.js";
import type { AuditLog } from "../engine/audit-port.js";
import { installAuditHook } from "./audit-hook.js";
import { auditRoutes } from "./routes/audit.js";
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
  /** Tenant secrets: /secrets routes (absent: not served). */
  secrets?: TenantSecrets;
  /** The event store behind the Events API (/events/*); no such routes without it. */
  events?: EventStore;
  logger?: FastifyBaseLogger | false;
  /** The audit trail: audited writes are recorded, GET /audit reads it (absent: neither). */
  audit?: AuditLog;
  /** The bus's dead letters: /dead-letters routes (admin; absent: not served). */
  deadLetters?: DeadLetterAdmin;
  /** OpenTelemetry: a server span per request (absent: tracing is off). */
  tracer?: Tracer;
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
    // The caller's X-Correlation-ID when it is well-formed (a bad one is refused below).
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: "correlationId" }),
    genReqId: (raw) => {
      const sent = raw.headers["x-correlation-id"];
      return typeof sent === "string" && isCorrelationId(sent) ? sent : randomUUID();
    },
    // A hop count trusts that many proxies nearest to us (what Fastify does for a number).
    trustProxy:
      typeof config.trustProxy === "number"
        ? (
            (hops: number) => (_address: string, i: number) =>
              i < hops
          )(config.trustProxy)
        : config.trustProxy,
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
        .send(
          errorBody(
            status === 414 ? ErrorCodes.URI_TOO_LONG : ErrorCodes.BAD_REQUEST,
            error.message,
          ),
        );
    },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  if (deps.tracer) installTracingHook(app, deps.tracer);
  installErrorHandlers(app);
  // Only JSON bodies: text/plain would otherwise reach validation and answer 400 instead of 415.
  app.removeContentTypeParser("text/plain");
  installJsonBodyParser(app); // bounded JSON bodies: depth, NUL, lone surrogates, prototype keys
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
    const sent = request.headers["x-correlation-id"];
    if (sent !== undefined && (typeof sent !== "string" || !isCorrelationId(sent))) {
      throw new HttpError(
        400,
        ErrorCodes.INVALID_CORRELATION_ID,
        `X-Correlation-ID must be 1 to ${CORRELATION_ID_MAX} characters of A-Z a-z 0-9 . _ : - (this answer's X-Correlation-ID is a new one)`,
      );
    }
    const isPublic = request.routeOptions.config.public === true || request.url.startsWith("/docs");
    if (isPublic || request.is404) return;
    const wait = failedAuth.blockedFor(request.ip);
    if (wait > 0) {
      reply.header("retry-after", String(wait));
      throw new HttpError(
        429,
        ErrorCodes.RATE_LIMITED,
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

  seedAliasRoutes(app); // the seeds' paths, as aliases of the routes registered below
  await app.register(rateLimit, {
    hook: "preHandler",
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) =>
      request.principal ? `${request.principal.tenantId}:${request.principal.subject}` : request.ip,
    allowList: (request) => request.routeOptions.config.public === true,
  });

  const limits = config.limits;
  const streams = new StreamHub({
    perPrincipal: limits.streamsPerPrincipal,
    perTenant: limits.streamsPerTenant,
    total: limits.streamsTotal,
  });
  const stopListening = deps.orchestrator.onCommitted(streams.listener);
  // Open SSE streams would hold app.close() until their sagas end: end them when closing starts.
  app.addHook("preClose", (done) => {
    streams.endAll();
    stopListening();
    done();
  });
  installHttpMetrics(app, deps.metrics);
  if (deps.audit) installAuditHook(app, deps.audit);
  healthRoutes(app, deps.orchestrator, deps.health);
  metricsRoutes(app, deps.metrics, config.metricsToken);
  sagaRoutes(app, deps.orchestrator, {
    starts: new StartQuota(limits.startsPerSecond),
    stream: { hub: streams, keepAliveMs: limits.streamKeepAliveMs },
  });
  if (deps.definitions)
    definitionRoutes(app, deps.definitions, { perTenant: limits.definitionsPerTenant });
  if (deps.events) eventRoutes(app, deps.events, { maxEventBytes: limits.eventBytes });
  if (deps.secrets) secretRoutes(app, deps.secrets);
  if (deps.deadLetters) deadLetterRoutes(app, deps.deadLetters);
  if (deps.audit) auditRoutes(app, deps.audit);
  consoleRoutes(app, deps.orchestrator);
  return app;
}
