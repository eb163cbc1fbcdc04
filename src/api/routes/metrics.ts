import type { FastifyInstance } from "fastify";
import type { SagaMetrics } from "../../telemetry/metrics.js";

/** Prometheus exposition. Public, like the health probes (scrapers rarely carry credentials). */
export function metricsRoutes(app: FastifyInstance, metrics: SagaMetrics): void {
  app.get(
    "/metrics",
    {
      config: { public: true },
      schema: { tags: ["health"], summary: "Prometheus metrics", produces: ["text/plain"] },
    },
    async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    },
  );
}
