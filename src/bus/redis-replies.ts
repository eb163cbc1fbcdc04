import { ErrorCodes } from "../core/errors.js";
import { busError } from "./bus-errors.js";
import { type Fields, setOwn } from "./message-codec.js";

/** One stream entry; `fields` is null when the entry was deleted (trimmed) while pending. */
export interface StreamEntry {
  id: string;
  fields: Fields | null;
}

export interface PendingEntry {
  id: string;
  consumer: string;
  idleMs: number;
  deliveries: number;
}

// Replies are read in RESP2 shapes (the connections use `protocol: 2`): arrays, strings, integers.

const unexpected = (what: string, reply: unknown) =>
  busError(
    ErrorCodes.SAGA_BUS_UNEXPECTED_REPLY,
    `unexpected ${what} reply from Redis: ${JSON.stringify(reply)?.slice(0, 200)}`,
  );

function text(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (typeof value === "number") return String(value);
  throw unexpected(what, value);
}

function int(value: unknown, what: string): number {
  const n = typeof value === "number" ? value : Number(text(value, what));
  if (!Number.isFinite(n)) throw unexpected(what, value);
  return n;
}

function array(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw unexpected(what, value);
  return value as unknown[];
}

/** Field list `[name, value, name, value…]` -> object (a repeated name keeps its first value). */
export function fieldsOf(flat: readonly unknown[]): Fields {
  const fields: Fields = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = text(flat[i], "field name");
    if (!Object.prototype.hasOwnProperty.call(fields, name))
      setOwn(fields, name, text(flat[i + 1], "field value"));
  }
  return fields;
}

/** `[[id, [field, value…] | null], …]`, as XRANGE, XCLAIM and XAUTOCLAIM return entries. */
export function parseEntries(reply: unknown): StreamEntry[] {
  return array(reply, "entries").map((item) => {
    const [id, flat] = array(item, "entry");
    return {
      id: text(id, "entry id"),
      fields: flat === null || flat === undefined ? null : fieldsOf(array(flat, "entry fields")),
    };
  });
}

/** XREADGROUP on one stream: null (timed out) or `[[stream, entries]]`. */
export function parseReadGroup(reply: unknown): StreamEntry[] {
  if (reply === null) return [];
  const streams = array(reply, "XREADGROUP");
  if (streams.length === 0) return [];
  const [, entries] = array(streams[0], "XREADGROUP stream");
  return parseEntries(entries ?? []);
}

/** XAUTOCLAIM (Redis >= 7): `[nextCursor, entries, deletedIds]`. */
export function parseAutoClaim(reply: unknown): {
  next: string;
  entries: StreamEntry[];
  deleted: string[];
} {
  const [next, entries, deleted] = array(reply, "XAUTOCLAIM");
  return {
    next: text(next, "XAUTOCLAIM cursor"),
    entries: parseEntries(entries ?? []),
    deleted: array(deleted ?? [], "XAUTOCLAIM deleted").map((id) => text(id, "deleted id")),
  };
}

/** XPENDING's extended form: `[[id, consumer, idleMs, deliveries], …]`. */
export function parsePending(reply: unknown): PendingEntry[] {
  return array(reply, "XPENDING").map((item) => {
    const [id, consumer, idle, deliveries] = array(item, "XPENDING entry");
    return {
      id: text(id, "pending id"),
      consumer: text(consumer, "pending consumer"),
      idleMs: int(idle, "pending idle"),
      deliveries: int(deliveries, "pending deliveries"),
    };
  });
}

/** Redis's error for a stream or consumer group that does not exist (e.g. after Redis lost its data). */
export function isNoGroupError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOGROUP");
}

export function isBusyGroupError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("BUSYGROUP");
}
