import type { Metric, Registry } from "prom-client";
import type { CommitListener } from "../engine/observer.js";
import { SagaMetrics } from "./metrics.js";

/** What `registerSagaMetrics` needs of an orchestrator. */
export interface MetricsSource {
  onCommitted(listener: CommitListener): () => void;
  countActive(): Promise<{ name: string; count: number }[]>;
}

/**
 * Registers the saga metrics (`saga_started_total`, `saga_duration_seconds`,
 * `saga_running_current`…, the same names as the service's `/metrics`) on a prom-client registry
 * of your own, fed by the orchestrator's commits. prom-client's process metrics are left to you.
 * Returns a function that stops feeding them (the series stay registered).
 *
 * @example
 * import { register } from "prom-client";
 * const stop = registerSagaMetrics(orchestrator, register);
 */
export function registerSagaMetrics(orchestrator: MetricsSource, registry: Registry): () => void {
  const metrics = new SagaMetrics(() => orchestrator.countActive(), { defaultMetrics: false });
  for (const metric of metrics.registry.getMetricsAsArray())
    registry.registerMetric(metric as unknown as Metric);
  return orchestrator.onCommitted(metrics.listener);
}
