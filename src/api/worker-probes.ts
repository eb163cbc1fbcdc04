import { ErrorCodes } from "../core/errors.js";
import Fastify, { type FastifyInstance } from "fastify";
import type { Orchestrator } from "../engine/orchestrator.js";
import type { SagaMetrics } from "../telemetry/metrics.js";
import { healthRoutes, type HealthInfo } from "./routes/health.js";
import { metricsRoutes } from "./routes/metrics.js";

/**
 * The small HTTP server of `saga worker`: liveness, readiness (503 while the store does not
 * answer, and once draining), the component report and Prometheus metrics, on a port of its own
 * (WORKER_PORT, default 8009) so a cluster probes and scrapes workers like the API. No saga
 * routes and no credentials beyond METRICS_TOKEN: it serves only what the API serves publicly.
 */
export async function buildWorkerProbeServer(deps: {
  orchestrator: Orchestrator;
  metrics: SagaMetrics;
  health: HealthInfo;
  /** METRICS_TOKEN: when set, /metrics needs it here as on the API. */
  metricsToken: string | null;
}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1024, return503OnClosing: true });
  app.setNotFoundHandler((_request, reply) =>
    reply.status(404).send({
      error: {
        code: ErrorCodes.SAGA_NOT_FOUND,
        message: "a worker serves /health/live, /health/ready, /health and /metrics only",
      },
    }),
  );
  healthRoutes(app, deps.orchestrator, deps.health);
  metricsRoutes(app, deps.metrics, deps.metricsToken);
  await app.ready();
  return app;
}
