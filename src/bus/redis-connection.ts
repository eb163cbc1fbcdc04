import { Cluster, Redis } from "ioredis";

/** A connection to one Redis server, or to a Redis Cluster (one connection per node). */
export type RedisClient = Redis | Cluster;

/** Seed nodes of a Redis Cluster (any reachable ones: the client learns the rest), and its login. */
export interface RedisClusterOptions {
  nodes: readonly { host: string; port: number }[];
  username?: string;
  password?: string;
  /** TLS to every node (`rediss+cluster://`). */
  tls?: boolean;
}

/**
 * Opens a connection to `url` or, with `cluster`, to the cluster those seeds belong to.
 * `maxRetriesPerRequest`: commands fail after that many reconnect attempts; null waits for Redis.
 */
export function openRedis(
  target: { url?: string | undefined; cluster?: RedisClusterOptions | undefined },
  name: string,
  maxRetriesPerRequest: number | null,
): RedisClient {
  const retry = (times: number) => Math.min(100 * times, 2_000);
  if (target.cluster) {
    const { nodes, username, password, tls } = target.cluster;
    return new Cluster(
      nodes.map(({ host, port }) => ({ host, port })),
      {
        clusterRetryStrategy: retry,
        redisOptions: {
          connectionName: name,
          protocol: 2, // replies in RESP2 shapes, which redis-replies.ts reads
          maxRetriesPerRequest,
          ...(username === undefined ? {} : { username }),
          ...(password === undefined ? {} : { password }),
          ...(tls ? { tls: {} } : {}),
        },
      },
    );
  }
  return new Redis(target.url ?? "", {
    connectionName: name,
    protocol: 2, // replies in RESP2 shapes, which redis-replies.ts reads
    maxRetriesPerRequest,
    retryStrategy: retry,
  });
}

/**
 * The connection of `client` to the node serving `slot` (a single server: the client itself), or
 * null while a cluster client does not know the slot's master yet. Node-local commands such as
 * CLIENT ID and CLIENT UNBLOCK must go there.
 */
export function nodeServing(client: RedisClient, slot: number | null): Redis | null {
  if (client instanceof Redis) return client;
  if (slot === null) return null;
  const master = client.slots[slot]?.[0];
  if (master === undefined) return null;
  return client.nodes("master").find((node) => nodeKey(node) === master) ?? null;
}

/** `host:port` of a node connection, as the cluster client names its nodes. */
export function nodeKey(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}
