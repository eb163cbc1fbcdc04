import { describe, expect, it } from "vitest";
import { describeBackends } from "../../src/config/backends.js";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { keySlot } from "../../src/bus/redis-key-slot.js";

describe("REDIS_URL", () => {
  it("one server: the URL as given, no cluster", () => {
    const config = loadConfig({ REDIS_URL: "redis://:pw@r:6380/2" });
    expect(config.redisUrl).toBe("redis://:pw@r:6380/2");
    expect(config.redisCluster).toBeNull();
    expect(loadConfig({}).redisCluster).toBeNull();
  });

  it("redis+cluster://: seed nodes, credentials decoded, TLS with rediss+cluster", () => {
    const raw = "redis+cluster://app:p%40ss@10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002,node-4";
    const config = loadConfig({ REDIS_URL: raw });
    expect(config.redisUrl).toBe(raw);
    expect(config.redisCluster).toEqual({
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
        { host: "::1", port: 7002 },
        { host: "node-4", port: 6379 },
      ],
      username: "app",
      password: "p@ss",
      tls: false,
    });
    expect(loadConfig({ REDIS_URL: "rediss+cluster://:s@h:1/" }).redisCluster).toEqual({
      nodes: [{ host: "h", port: 1 }],
      password: "s",
      tls: true,
    });
  });

  it("refuses a bad cluster URL with one line that never repeats the password", () => {
    const bad = [
      "redis+cluster://:hunter2@h:1,",
      "redis+cluster://:hunter2@h:70000",
      "redis+cluster://:hunter2@h:1/0",
      "redis+cluster://:hunter2@h:1?tls=true",
      "redis+cluster://:hunter2%zz@h:1",
      "redis+cluster://",
    ];
    for (const value of bad) {
      let thrown: unknown;
      try {
        loadConfig({ REDIS_URL: value });
      } catch (error) {
        thrown = error;
      }
      expect(thrown, value).toBeInstanceOf(ConfigError);
      const message = (thrown as Error).message;
      expect(message).toMatch(/^REDIS_URL/);
      expect(message).not.toContain("hunter2");
      expect(message).not.toContain("\n");
    }
    expect(() => loadConfig({ REDIS_URL: "http://h:1" })).toThrow(/redis\+cluster:\/\//);
  });

  it("REDIS_PASSWORD cannot be merged into a cluster URL: refused, not dropped", () => {
    expect(() =>
      loadConfig({ REDIS_URL: "redis+cluster://h:1,h:2", REDIS_PASSWORD: "pw" }),
    ).toThrow(/put the password in the URL/);
  });

  it("the start-up log names the seed nodes, not the credentials", () => {
    const config = loadConfig({ REDIS_URL: "redis+cluster://u:hunter2@a:7000,b:7001" });
    const { bus } = describeBackends(config);
    expect(bus).toBe("Redis Streams on the Redis Cluster of a:7000,b:7001");
  });
});

describe("keySlot", () => {
  it("hashes the hash tag only, when there is a non-empty one", () => {
    // Values from the Redis Cluster specification and CLUSTER KEYSLOT.
    expect(keySlot("123456789")).toBe(0x31c3 % 16384);
    expect(keySlot("foo")).toBe(12182);
    expect(keySlot("{user1000}.following")).toBe(keySlot("user1000"));
    expect(keySlot("{saga:events}:dead")).toBe(keySlot("{saga:events}"));
    expect(keySlot("foo{}{bar}")).not.toBe(keySlot("bar"));
  });
});
