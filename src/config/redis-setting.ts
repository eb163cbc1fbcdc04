import { ConfigError, urlSetting } from "./api-config.js";

/** A Redis Cluster by seed nodes (`redis+cluster://[user:password@]host:port,host:port`). */
export interface RedisClusterSetting {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  /** `rediss+cluster://`: TLS to every node. */
  tls: boolean;
}

const CLUSTER = /^(rediss?)\+cluster:\/\/(.*)$/i;
const NODE = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/;
const SHAPE = "redis+cluster://[user:password@]host:port,host:port";

/**
 * `name` (REDIS_URL): a `redis://`/`rediss://` URL of one server, or `redis+cluster://` seed
 * nodes of a Redis Cluster. Errors name the setting and never repeat the credentials.
 */
export function redisSetting(
  str: (name: string) => string | null,
  name: string,
): { url: string | null; cluster: RedisClusterSetting | null } {
  const raw = str(name);
  const match = raw === null ? null : CLUSTER.exec(raw);
  if (raw === null || !match) {
    try {
      return { url: urlSetting(str, name, ["redis:", "rediss:"]), cluster: null };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(`${error.message}; a Redis Cluster is ${SHAPE}`);
    }
  }
  return { url: raw, cluster: parseCluster(name, match[1]!.toLowerCase() === "rediss", match[2]!) };
}

function parseCluster(name: string, tls: boolean, rest: string): RedisClusterSetting {
  const at = rest.lastIndexOf("@");
  const userInfo = at === -1 ? null : rest.slice(0, at);
  const hosts = (at === -1 ? rest : rest.slice(at + 1)).replace(/\/$/, "");
  if (/[/?#]/.test(hosts))
    throw new ConfigError(
      `${name}: a cluster URL has no path or options (a cluster has db 0 only): ${SHAPE}`,
    );
  const nodes = hosts.split(",").map((node) => {
    const m = NODE.exec(node.trim());
    const port = Number(m?.[3] ?? 6379);
    if (!m || port < 1 || port > 65535)
      throw new ConfigError(
        `${name}: seed node ${JSON.stringify(node.trim())} is not host:port (expected ${SHAPE})`,
      );
    return { host: m[1] ?? m[2]!, port };
  });
  const setting: RedisClusterSetting = { nodes, tls };
  if (userInfo !== null) {
    const colon = userInfo.indexOf(":");
    const user = colon === -1 ? userInfo : userInfo.slice(0, colon);
    const password = colon === -1 ? "" : userInfo.slice(colon + 1);
    try {
      if (user !== "") setting.username = decodeURIComponent(user);
      if (password !== "") setting.password = decodeURIComponent(password);
    } catch {
      throw new ConfigError(`${name}: the user or password is not valid percent-encoding`);
    }
  }
  return setting;
}
