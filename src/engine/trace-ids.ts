import { createHash } from "node:crypto";

/**
 * Trace and span ids derived from a saga's identity, so that every process (and every restart)
 * names the same saga, attempt or compensation with the same ids: one saga is one trace, and the
 * `traceparent` an http step sends names the attempt span exported when the attempt ends. W3C
 * trace context: a trace id is 16 bytes, a span id 8, both lower-case hex and never all zeros.
 */

/** The phase of an attempt, as the glossary names it. */
export type AttemptPhase = "forward" | "compensation";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function nonZero(hex: string, fallback: string): string {
  return /^0+$/.test(hex) ? fallback : hex;
}

/** The saga's trace id: its id's 16 bytes (a UUID), or the first 16 bytes of its SHA-256. */
export function sagaTraceId(sagaId: string): string {
  const lower = sagaId.toLowerCase();
  const hex = UUID.test(lower) ? lower.replaceAll("-", "") : sha256Hex(sagaId).slice(0, 32);
  return nonZero(hex, sha256Hex(sagaId).slice(0, 32));
}

function spanId(key: string): string {
  const hash = sha256Hex(key);
  return nonZero(hash.slice(0, 16), hash.slice(16, 32));
}

/** The span id of the saga span (the root of the saga's trace). */
export function sagaSpanId(sagaId: string): string {
  return spanId(`${sagaId}:saga`);
}

/** The span id of one attempt of a step's action (`forward`) or compensation. */
export function attemptSpanId(
  sagaId: string,
  step: string,
  phase: AttemptPhase,
  attempt: number,
): string {
  return spanId(`${sagaId}:${step}:${phase}:${attempt}`);
}

/** Any other span of a saga's trace, named by a key unique within the saga. */
export function sagaChildSpanId(sagaId: string, key: string): string {
  return spanId(`${sagaId}:${key}`);
}

/**
 * Is this a W3C `traceparent` we can use: version, 32 hex trace id, 16 hex span id, flags (all
 * lower case; ids not all zeros; version `ff` is invalid)?
 */
export function isTraceparent(value: unknown): value is string {
  if (typeof value !== "string" || value.length > 128) return false;
  const match = TRACEPARENT.exec(value);
  if (!match || value.startsWith("ff-")) return false;
  return !/^0+$/.test(match[1]!) && !/^0+$/.test(match[2]!);
}
