import { SagaError, errorSpec, type ErrorCode, type ErrorRegistry } from "../core/errors.js";

/** The codes of the bus adapters: the registry's group "bus". */
export type BusErrorCode = {
  [C in ErrorCode]: (typeof ErrorRegistry)[C]["group"] extends "bus" ? C : never;
}[ErrorCode];

/** A bus error; retryable as the registry says (only SAGA_BUS_UNAVAILABLE is). */
export function busError(code: BusErrorCode, message: string, cause?: unknown): SagaError {
  return new SagaError(code, message, cause === undefined ? {} : { cause });
}

/** Whether `error` is one of the bus's own errors (to pass it on unwrapped). */
export function isBusError(error: unknown): error is SagaError {
  return error instanceof SagaError && errorSpec(error.code)?.group === "bus";
}
