import type { RedisClient } from "./redis-connection.js";
import type { BusStats } from "./bus-stats.js";
import type { StreamKeys } from "./redis-commands.js";
import { errorMessage } from "../core/errors.js";

/** XLEN of the dead-letter stream and XINFO GROUPS of the stream (pending, lag per group). */
export async function readBusStats(redis: RedisClient, keys: StreamKeys): Promise<BusStats> {
  const deadLetters = Number(await redis.call("XLEN", [keys.deadLetterStream]));
  let reply: unknown;
  try {
    reply = await redis.call("XINFO", ["GROUPS", keys.stream]);
  } catch (error) {
    if (/no such key/i.test(errorMessage(error))) return { deadLetters, groups: [] };
    throw error;
  }
  const groups: BusStats["groups"] = [];
  for (const entry of Array.isArray(reply) ? (reply as unknown[]) : []) {
    if (!Array.isArray(entry)) continue;
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < entry.length; i += 2) info.set(String(entry[i]), entry[i + 1]);
    const lag = info.get("lag");
    groups.push({
      group: String(info.get("name")),
      pending: Number(info.get("pending") ?? 0),
      lag: lag === null || lag === undefined ? null : Number(lag),
    });
  }
  return { deadLetters: Number.isFinite(deadLetters) ? deadLetters : 0, groups };
}
