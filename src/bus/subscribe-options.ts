import { ErrorCodes } from "../core/errors.js";
import type { SubscribeOptions } from "../engine/bus-port.js";
import { busError } from "./bus-errors.js";

export interface ResolvedSubscribeOptions {
  group: string;
  consumer: string;
  /** null: every type. */
  types: ReadonlySet<string> | null;
  maxDeliveries: number;
  claimIdleMs: number;
  /** Most messages per handler call (1 for `subscribe`). */
  batch: number;
}

/**
 * Applies the port's defaults (5 deliveries, 30 s claim idle, batches of 100 for
 * `subscribeBatch`, of 1 for `subscribe`) and refuses nonsense.
 */
export function resolveSubscribeOptions(
  options: SubscribeOptions,
  kind: "single" | "batch" = "single",
): ResolvedSubscribeOptions {
  const { group, consumer } = options;
  const maxDeliveries = options.maxDeliveries ?? 5;
  const claimIdleMs = options.claimIdleMs ?? 30_000;
  const batch = kind === "single" ? 1 : (options.batch ?? 100);
  const problem =
    typeof group !== "string" || group === ""
      ? "group must be a non-empty string"
      : typeof consumer !== "string" || consumer === ""
        ? "consumer must be a non-empty string"
        : !Number.isInteger(maxDeliveries) || maxDeliveries < 1
          ? "maxDeliveries must be an integer >= 1"
          : !Number.isInteger(claimIdleMs) || claimIdleMs < 1
            ? "claimIdleMs must be an integer >= 1"
            : !Number.isInteger(batch) || batch < 1 || batch > 1000
              ? "batch must be an integer from 1 to 1000"
              : null;
  if (problem) throw busError(ErrorCodes.SAGA_BUS_INVALID_OPTIONS, `subscribe: ${problem}`);
  return {
    group,
    consumer,
    types: options.types ? new Set(options.types) : null,
    maxDeliveries,
    claimIdleMs,
    batch,
  };
}
