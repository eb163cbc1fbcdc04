import type { ServiceConfig } from "./config.js";

/** Which store and which bus a configuration uses, in words for the start-up log (no secrets). */
export function describeBackends(config: ServiceConfig): { store: string; bus: string } {
  return {
    store: config.databaseUrl
      ? `PostgreSQL ${where(config.databaseUrl)}`
      : `embedded PGlite in ${config.dataDir} (one process only; set DATABASE_URL for PostgreSQL)`,
    bus: config.redisCluster
      ? `Redis Streams on the Redis Cluster of ${config.redisCluster.nodes.map((n) => `${n.host}:${n.port}`).join(",")}`
      : config.redisUrl
        ? `Redis Streams ${where(config.redisUrl)}`
        : "in-process (this process only; set REDIS_URL for Redis Streams)",
  };
}

function where(raw: string): string {
  try {
    const url = new URL(raw);
    const path = url.pathname.length > 1 ? url.pathname : "";
    return `at ${url.host}${path}`;
  } catch {
    return "(unparsable URL)";
  }
}
