import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { SagaEvent } from "../core/events.js";
import type { SagaState } from "../core/state.js";
import type { CommitListener } from "../engine/observer.js";
import { LabelGuard } from "./label-guard.js";

/**
 * Prometheus metrics of the sagas this process writes. Names follow the seeds' Grafana panels and
 * alert rules; every series has `saga_type`. In a fleet, sum over instances (each counts its own).
 */
export class SagaMetrics {
  readonly registry = new Registry();
  readonly started = new Counter({
    name: "saga_started_total",
    help: "Sagas started.",
    labelNames: ["saga_type"],
    registers: [this.registry],
  });
  readonly completed = new Counter({
    name: "saga_completed_total",
    help: "Sagas completed.",
    labelNames: ["saga_type"],
    registers: [this.registry],
  });
  /** Only `saga_type`, so that `saga_failed_total / saga_started_total` matches series. */
  readonly failed = new Counter({
    name: "saga_failed_total",
    help: "Sagas whose forward path did not complete (reasons: saga_failed_by_reason_total).",
    labelNames: ["saga_type"],
    registers: [this.registry],
  });
  readonly failedByReason = new Counter({
    name: "saga_failed_by_reason_total",
    help: "saga_failed_total by reason (step_failed, cancelled, timed_out, paused).",
    labelNames: ["saga_type", "reason"],
    registers: [this.registry],
  });
  readonly compensated = new Counter({
    name: "saga_compensated_total",
    help: "Sagas fully compensated.",
    labelNames: ["saga_type", "reason"],
    registers: [this.registry],
  });
  readonly needsAttention = new Counter({
    name: "saga_needs_attention_total",
    help: "Sagas stopped in failed: a compensation failed for good, or a paused failure (needs an operator).",
    labelNames: ["saga_type", "phase"],
    registers: [this.registry],
  });
  readonly compensations = new Counter({
    name: "saga_compensation_executed_total",
    help: "Compensation attempts, by outcome (success, failure).",
    labelNames: ["saga_type", "step_name", "outcome"],
    registers: [this.registry],
  });
  readonly stepFailed = new Counter({
    name: "saga_step_failed_total",
    help: "Failed step attempts, by error code.",
    labelNames: ["saga_type", "step_name", "error_type"],
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: "saga_duration_seconds",
    help: "Time from start to completed, compensated or failed.",
    labelNames: ["saga_type", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [this.registry],
  });
  readonly stepDuration = new Histogram({
    name: "saga_step_duration_seconds",
    help: "Duration of step attempts, by outcome (completed, failed, aborted).",
    labelNames: ["saga_type", "step_name", "outcome"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  /** Saga types, step names and error codes are chosen by tenants: their label values are bounded. */
  private readonly sagaTypes: LabelGuard;
  private readonly stepNames: LabelGuard;
  private readonly errorTypes: LabelGuard;

  /**
   * `countActive` reads the store: every process reports the same fleet-wide count, so aggregate
   * `saga_running_current` with `max`, never `sum`, across instances. `defaultMetrics: false`
   * leaves out prom-client's process metrics (a registry of your own usually has them already).
   * `maxLabelValues`: distinct values each tenant-chosen label (saga_type, step_name, error_type)
   * may take; later ones are counted under `__overflow__` (default 500).
   */
  constructor(
    countActive: () => Promise<{ name: string; count: number }[]>,
    options: { defaultMetrics?: boolean; maxLabelValues?: number } = {},
  ) {
    const maxLabelValues = options.maxLabelValues ?? 500;
    const registry = this.registry;
    const sagaTypes = (this.sagaTypes = new LabelGuard(maxLabelValues));
    this.stepNames = new LabelGuard(maxLabelValues);
    this.errorTypes = new LabelGuard(maxLabelValues);
    new Gauge({
      name: "saga_running_current",
      help: "Sagas running or compensating now, fleet-wide (read from the store at scrape time: the same on every instance, aggregate with max).",
      labelNames: ["saga_type"],
      registers: [registry],
      async collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const { name, count } of await countActive()) {
          const label = sagaTypes.value(name);
          counts.set(label, (counts.get(label) ?? 0) + count);
        }
        for (const [saga_type, count] of counts) this.set({ saga_type }, count);
      },
    });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  }

  /** The commit listener that feeds these metrics. */
  readonly listener: CommitListener = (state, events) => {
    for (const event of events) this.record(state, event);
  };

  private record(state: SagaState, e: SagaEvent): void {
    const saga_type = this.sagaTypes.value(state.name);
    const step_name = "step" in e ? this.stepNames.value(e.step) : "";
    const seconds = (from: number | null | undefined) =>
      from == null ? null : Math.max(0, (e.at - from) / 1000);
    switch (e.type) {
      case "SagaStarted":
        this.started.inc({ saga_type });
        break;
      case "StepCompleted":
      case "StepFailed":
      case "StepAborted": {
        const outcome =
          e.type === "StepCompleted" ? "completed" : e.type === "StepFailed" ? "failed" : "aborted";
        const took = seconds(state.steps[e.step]?.startedAt);
        if (took !== null) this.stepDuration.observe({ saga_type, step_name, outcome }, took);
        if (e.type === "StepFailed")
          this.stepFailed.inc({
            saga_type,
            step_name,
            error_type: this.errorTypes.value(e.error.code),
          });
        break;
      }
      case "StepCompensated":
        this.compensations.inc({ saga_type, step_name, outcome: "success" });
        break;
      case "StepCompensationFailed":
        this.compensations.inc({ saga_type, step_name, outcome: "failure" });
        break;
      case "SagaCompensationStarted":
        this.failed.inc({ saga_type });
        this.failedByReason.inc({ saga_type, reason: e.reason });
        break;
      case "SagaCompleted":
        this.completed.inc({ saga_type });
        this.duration.observe({ saga_type, status: "completed" }, seconds(state.startedAt) ?? 0);
        break;
      case "SagaCompensated":
        this.compensated.inc({ saga_type, reason: state.reason ?? "step_failed" });
        this.duration.observe({ saga_type, status: "compensated" }, seconds(state.startedAt) ?? 0);
        break;
      case "SagaFailed":
        if (e.phase === "forward") {
          this.failed.inc({ saga_type });
          this.failedByReason.inc({ saga_type, reason: "paused" });
        }
        this.needsAttention.inc({ saga_type, phase: e.phase });
        this.duration.observe({ saga_type, status: "failed" }, seconds(state.startedAt) ?? 0);
        break;
      default:
        break;
    }
  }
}
