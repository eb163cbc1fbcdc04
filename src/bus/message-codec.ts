import { ErrorCodes } from "../core/errors.js";
import { parseJson, stringProblem, toJson, type Json } from "../core/json.js";
import { Limits } from "../core/limits.js";
import type { BusMessage } from "../engine/bus-port.js";
import { busError } from "./bus-errors.js";

/** A stream entry's fields, by name. */
export type Fields = Record<string, string>;

/**
 * Checks a message before it is published and returns a deep copy of it, so that neither the
 * publisher nor a handler can change what the other one sees. Throws SAGA_BUS_INVALID_MESSAGE.
 */
export function validMessage(message: BusMessage): BusMessage {
  const refuse = (problem: string) =>
    busError(ErrorCodes.SAGA_BUS_INVALID_MESSAGE, `message ${String(message?.id)}: ${problem}`);
  if (typeof message !== "object" || message === null) throw refuse("not an object");
  if (typeof message.id !== "string" || message.id === "") throw refuse("id must be a string");
  if (typeof message.type !== "string" || message.type === "")
    throw refuse("type must be a non-empty string");
  if (typeof message.tenantId !== "string") throw refuse("tenantId must be a string");
  if (message.key !== null && typeof message.key !== "string")
    throw refuse("key must be a string or null");
  const field = fieldProblem(message);
  if (field !== null) throw refuse(field);
  if (!Number.isFinite(message.occurredAt)) throw refuse("occurredAt must be epoch milliseconds");
  const data = toJson(message.data, { maxBytes: Limits.MAX_BUS_DATA_BYTES });
  if (!data.ok) throw refuse(`data refused at ${clip(data.path)}: ${data.problem}`);
  const copy: BusMessage = {
    id: message.id,
    type: message.type,
    tenantId: message.tenantId,
    key: message.key,
    data: data.value, // toJson built it afresh: nobody else holds it
    occurredAt: message.occurredAt,
  };
  if (message.headers !== undefined) {
    if (typeof message.headers !== "object" || message.headers === null)
      throw refuse("headers must be an object of strings");
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers)) {
      if (typeof value !== "string") throw refuse(`header ${name} is not a string`);
      const problem = stringProblem(name) ?? stringProblem(value);
      if (problem !== null) throw refuse(`header ${name}: ${problem}`);
      setOwn(headers, name, value);
    }
    copy.headers = headers;
  }
  return copy;
}

/**
 * The entry fields of a message: id, type, tenant, key (absent when null), data (JSON),
 * occurred_at (epoch ms), headers (JSON, absent when the message has none).
 */
export function encodeMessage(message: BusMessage): string[] {
  const m = validMessage(message);
  const fields = ["id", m.id, "type", m.type, "tenant", m.tenantId];
  if (m.key !== null) fields.push("key", m.key);
  fields.push("data", JSON.stringify(m.data), "occurred_at", String(m.occurredAt));
  if (m.headers !== undefined) fields.push("headers", JSON.stringify(m.headers));
  return fields;
}

/** The message in an entry's fields; throws SAGA_BUS_MALFORMED_ENTRY when they are not one. */
export function decodeMessage(fields: Fields): BusMessage {
  const malformed = (problem: string) =>
    busError(ErrorCodes.SAGA_BUS_MALFORMED_ENTRY, `undecodable bus entry: ${problem}`);
  const need = (name: string): string => {
    const value = fields[name];
    if (value === undefined) throw malformed(`field ${name} is missing`);
    return value;
  };
  const id = need("id");
  const type = need("type");
  if (id === "" || type === "") throw malformed("empty id or type");
  const occurredAt = Number(need("occurred_at"));
  if (!Number.isFinite(occurredAt)) throw malformed("occurred_at is not a number");
  // From outside: bounded in depth, size and characters before anything walks it.
  const parsed = parseJson(need("data"), { maxBytes: Limits.MAX_BUS_DATA_BYTES });
  if (!parsed.ok) throw malformed(`data refused at ${clip(parsed.path)}: ${parsed.problem}`);
  const data: Json = parsed.value;
  const message: BusMessage = {
    id,
    type,
    tenantId: need("tenant"),
    key: fields.key ?? null,
    data,
    occurredAt,
  };
  const field = fieldProblem(message);
  if (field !== null) throw malformed(field);
  if (fields.headers !== undefined) message.headers = decodeHeaders(fields.headers, malformed);
  return message;
}

/** The longest id, type, tenant or key of a message (characters). */
const MAX_FIELD_CHARS = 1024;

/** What is wrong with a message's id, type, tenant or key (length, NUL, lone surrogate), or null. */
function fieldProblem(m: Pick<BusMessage, "id" | "type" | "tenantId" | "key">): string | null {
  const named: [string, string | null][] = [
    ["id", m.id],
    ["type", m.type],
    ["tenant", m.tenantId],
    ["key", m.key],
  ];
  for (const [name, value] of named) {
    if (value === null) continue;
    if (value.length > MAX_FIELD_CHARS)
      return `${name} is longer than ${MAX_FIELD_CHARS} characters`;
    const problem = stringProblem(value);
    if (problem !== null) return `${name}: ${problem}`;
  }
  return null;
}

/** A path for a message, cut to a readable length. */
function clip(path: string): string {
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

function decodeHeaders(text: string, malformed: (p: string) => Error): Record<string, string> {
  const check = parseJson(text, { maxDepth: 2, maxBytes: 64 * 1024 });
  if (!check.ok) throw malformed(`headers refused: ${check.problem}`);
  const parsed: unknown = check.value;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw malformed("headers are not an object");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== "string") throw malformed(`header ${name} is not a string`);
    setOwn(headers, name, value);
  }
  return headers;
}

/** Sets an own property, so that a "__proto__" header stays data instead of a prototype. */
export function setOwn(target: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
