import { ErrorCodes } from "../../core/errors.js";
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { SagaMetrics } from "../../telemetry/metrics.js";
import { HttpError } from "../http-errors.js";

/**
 * Prometheus exposition. Without `token` it is public like the health probes; with it (the
 * METRICS_TOKEN setting) a scrape needs `Authorization: Bearer <token>` (Prometheus:
 * `authorization: { credentials: … }`), else 401 METRICS_UNAUTHORIZED.
 */
export function metricsRoutes(
  app: FastifyInstance,
  metrics: SagaMetrics,
  token: string | null,
): void {
  const expected = token === null ? null : digest(token);
  app.get(
    "/metrics",
    {
      config: { public: true },
      schema: { tags: ["health"], summary: "Prometheus metrics", produces: ["text/plain"] },
    },
    async (request, reply) => {
      if (expected !== null) {
        const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "");
        if (!match || !timingSafeEqual(digest(match[1]!), expected))
          throw new HttpError(
            401,
            ErrorCodes.METRICS_UNAUTHORIZED,
            "this server's /metrics needs Authorization: Bearer <METRICS_TOKEN>",
          );
      }
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    },
  );
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
