import type { RedisClient } from "./redis-connection.js";
import type { Logger } from "../engine/logger.js";
import { ensureError, ErrorCodes } from "../core/errors.js";
import { busError } from "./bus-errors.js";
import type { DeadLetter } from "./dead-letter.js";
import { decodeMessage, type Fields, setOwn } from "./message-codec.js";
import { isBusyGroupError, parseEntries, type StreamEntry } from "./redis-replies.js";

/** Where one bus keeps its entries. */
export interface StreamKeys {
  stream: string;
  deadLetterStream: string;
  /** Approximate MAXLEN of both streams. */
  maxLength: number;
}

/** Creates the consumer group (and the stream) unless it exists; `startId` "$": only new entries. */
export async function ensureGroup(
  redis: RedisClient,
  stream: string,
  group: string,
  startId: "$" | "0",
): Promise<void> {
  try {
    await redis.call("XGROUP", ["CREATE", stream, group, startId, "MKSTREAM"]);
  } catch (error) {
    if (!isBusyGroupError(error)) throw error;
  }
}

/** Throws the first error of a MULTI/EXEC or pipeline result. */
export function assertExecOk(
  results: [error: Error | null, result: unknown][] | null,
  what: string,
): void {
  if (results === null)
    throw busError(ErrorCodes.SAGA_BUS_UNAVAILABLE, `${what}: transaction discarded`);
  for (const [error] of results) {
    if (error) throw busError(ErrorCodes.SAGA_BUS_UNAVAILABLE, `${what}: ${error.message}`, error);
  }
}

const DEAD = {
  error: "dead_error",
  deliveries: "dead_deliveries",
  group: "dead_group",
  consumer: "dead_consumer",
  sourceId: "dead_source_id",
  deadAt: "dead_at",
} as const;

/**
 * Moves an entry to the dead-letter stream in one transaction: XADD of its original fields plus
 * why (`dead_error`, `dead_deliveries`, `dead_group`, `dead_consumer`, `dead_source_id`,
 * `dead_at`), then XACK on the source stream.
 */
export async function moveToDeadLetters(
  redis: RedisClient,
  keys: StreamKeys,
  entry: { id: string; fields: Fields },
  why: { group: string; consumer: string; deliveries: number; error: string },
): Promise<void> {
  const results = await redis
    .multi()
    .xadd(
      keys.deadLetterStream,
      "MAXLEN",
      "~",
      keys.maxLength,
      "*",
      ...Object.entries(entry.fields).flat(),
      DEAD.error,
      why.error,
      DEAD.deliveries,
      why.deliveries,
      DEAD.group,
      why.group,
      DEAD.consumer,
      why.consumer,
      DEAD.sourceId,
      entry.id,
      DEAD.deadAt,
      Date.now(),
    )
    .xack(keys.stream, why.group, entry.id)
    .exec();
  assertExecOk(results, "dead-letter");
}

/** The oldest `count` entries of the dead-letter stream. */
export async function readDeadLetters(
  redis: RedisClient,
  deadLetterStream: string,
  count: number,
): Promise<DeadLetter[]> {
  const reply = await redis.call("XRANGE", [deadLetterStream, "-", "+", "COUNT", count]);
  return parseEntries(reply).map(toDeadLetter);
}

export function toDeadLetter(entry: StreamEntry): DeadLetter {
  const raw: Fields = {};
  const meta: Partial<Record<keyof typeof DEAD, string>> = {};
  const names = Object.entries(DEAD) as [keyof typeof DEAD, string][];
  for (const [name, value] of Object.entries(entry.fields ?? {})) {
    const metaName = names.find(([, field]) => field === name)?.[0];
    if (metaName) meta[metaName] = value;
    else setOwn(raw, name, value);
  }
  let message: DeadLetter["message"];
  try {
    message = decodeMessage(raw);
  } catch {
    message = null;
  }
  const letter: DeadLetter = {
    message,
    sourceId: meta.sourceId ?? "",
    group: meta.group ?? "",
    consumer: meta.consumer ?? "",
    deliveries: Number(meta.deliveries ?? 0),
    error: meta.error ?? "",
    deadAt: Number(meta.deadAt ?? 0),
  };
  if (message === null) letter.raw = raw;
  return letter;
}

/** QUIT, or a hard disconnect when Redis does not answer within a second. Never throws. */
export async function closeConnection(redis: RedisClient): Promise<void> {
  if (ended(redis)) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.quit(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 1_000);
      }),
    ]);
  } catch {
    // already closed or unreachable: disconnect below
  } finally {
    clearTimeout(timer);
    if (!ended(redis)) redis.disconnect();
  }
}

// A function, so that TypeScript does not keep the status narrowed across the await above.
const ended = (redis: RedisClient): boolean => redis.status === "end";

/** Logs a lost connection once (not every reconnect attempt) and its return. */
export function logConnectionState(redis: RedisClient, name: string, logger: Logger): void {
  let down = false;
  redis.on("error", (error: unknown) => {
    if (down) return;
    down = true;
    logger.warn(
      { err: ensureError(error), connection: name },
      "redis connection failed; reconnecting",
    );
  });
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    logger.info({ connection: name }, "redis connection restored");
  });
}
