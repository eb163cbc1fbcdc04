import type { FastifyInstance } from "fastify";
import { HttpMetrics } from "../telemetry/http-metrics.js";
import type { SagaMetrics } from "../telemetry/metrics.js";

/** Counts and times every answered request on the metrics' registry (HTTP RED). */
export function installHttpMetrics(app: FastifyInstance, metrics: SagaMetrics): void {
  const http = new HttpMetrics(metrics.registry);
  app.addHook("onResponse", (request, reply, done) => {
    const route = request.is404 ? null : (request.routeOptions.url ?? null);
    http.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
