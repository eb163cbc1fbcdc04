import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";

/** The Redis the tests use: TEST_REDIS_URL, or the local server. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A client for assertions and cleanup: fails at once instead of queueing while Redis is down. */
export function rawRedis(url: string = TEST_REDIS_URL): Redis {
  return new Redis(url, { protocol: 2, maxRetriesPerRequest: 1, connectTimeout: 3_000 });
}

/** Throws a clear error when Redis does not answer: tests that need it are never skipped. */
export async function assertRedisAnswers(url: string = TEST_REDIS_URL): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new Error(
      `Redis does not answer at ${url} (${(error as Error).message}). Start it (e.g. ` +
        `'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no ` +
        `--dir /var/lib/redis --logfile /var/log/redis/ci.log') or set TEST_REDIS_URL. ` +
        `Tests that need it are never skipped.`,
      { cause: error },
    );
  } finally {
    client.disconnect();
  }
}

/** A key prefix no other test uses. */
export function uniqueKeyPrefix(): string {
  return `test:${randomBytes(6).toString("hex")}:`;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1_000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
}
