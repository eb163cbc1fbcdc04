import type { FastifyRequest } from "fastify";
import { ErrorCodes } from "../../core/errors.js";
import type { FaultDirective } from "../../core/events.js";
import { planSteps } from "../../core/plan.js";
import type { Orchestrator } from "../../engine/orchestrator.js";
import { HttpError } from "../http-errors.js";
import type { StartSagaBody } from "../schemas.js";

/**
 * The fault of a start request (rehearse a failure), checked: only the admin role may inject one,
 * and it must name a step of the definition (one with a compensation, for phase compensation).
 */
export function faultOf(
  request: FastifyRequest<{ Body: StartSagaBody }>,
  orchestrator: Orchestrator,
): FaultDirective | undefined {
  const fault = request.body.fault;
  if (!fault) return undefined;
  if (request.principal?.role !== "admin")
    throw new HttpError(403, "FORBIDDEN", "injecting a fault needs the admin role");
  const { saga_type, version } = request.body;
  const tenantId = request.principal.tenantId;
  const definition = orchestrator.definitions.resolve(saga_type, version, tenantId);
  const phase = fault.phase ?? "forward";
  const step = planSteps(definition.plan).find((s) => s.name === fault.step);
  if (!step || (phase === "compensation" && !step.compensable)) {
    throw new HttpError(
      400,
      "VALIDATION_ERROR",
      `fault.step: ${saga_type} v${definition.version} has no ${phase === "forward" ? "step" : "compensable step"} ${JSON.stringify(fault.step)}`,
    );
  }
  return {
    step: fault.step,
    attempt: fault.attempt ?? 1,
    phase,
    code: ErrorCodes.FAULT_INJECTED,
    message:
      fault.message ?? `fault injected at ${fault.step} (${phase}, attempt ${fault.attempt ?? 1})`,
    retryable: fault.retryable ?? false,
  };
}
