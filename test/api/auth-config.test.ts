import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { isLoopbackHost } from "../../src/config/api-config.js";

const KEY = "a-long-enough-key-0123456789";
const SECRET = "s".repeat(40);

/** The one-line message of the ConfigError that `env` causes (fails when none is thrown). */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message.split("\n")).toHaveLength(1);
    return message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("auth configuration fails closed", () => {
  it("allows anonymous access only with nothing configured, on loopback, outside production", () => {
    expect(loadConfig({}).anonymousAccess).toBe(true);
    expect(loadConfig({ HOST: "127.0.0.1" }).anonymousAccess).toBe(true);
    expect(loadConfig({ HOST: "::1" }).anonymousAccess).toBe(true);
    expect(loadConfig({ HOST: "localhost" }).anonymousAccess).toBe(true);
    expect(loadConfig({ API_KEY: KEY }).anonymousAccess).toBe(false);
    expect(loadConfig({ API_KEYS: `${KEY}=acme:viewer` }).anonymousAccess).toBe(false);
    expect(loadConfig({ JWT_SECRET: SECRET }).anonymousAccess).toBe(false);
    expect(loadConfig({ JWT_JWKS_URL: "https://idp.example.com/jwks.json" }).anonymousAccess).toBe(
      false,
    );
  });

  it("any configured credential makes credentials mandatory, whatever REQUIRE_API_KEY says", () => {
    for (const requireApiKey of ["false", "true"]) {
      const config = loadConfig({ API_KEY: KEY, REQUIRE_API_KEY: requireApiKey });
      expect(config.anonymousAccess).toBe(false);
    }
  });

  it.each([
    [{ HOST: "0.0.0.0" }, "HOST=0.0.0.0"],
    [{ HOST: "::" }, "HOST=::"],
    [{ HOST: "10.1.2.3" }, "HOST=10.1.2.3"],
    [{ HOST: "0.0.0.0", REQUIRE_API_KEY: "false" }, "HOST=0.0.0.0"],
    [{ ENVIRONMENT: "production" }, "ENVIRONMENT=production"],
  ])("refuses to start without credentials for %j, naming the fix", (env, named) => {
    const message = refusal(env);
    expect(message).toContain(named);
    expect(message).toMatch(/set API_KEY .*API_KEYS .*JWT_SECRET/);
  });

  it("starts on a non-loopback address or in production once a credential is configured", () => {
    expect(loadConfig({ HOST: "0.0.0.0", API_KEY: KEY }).host).toBe("0.0.0.0");
    expect(loadConfig({ ENVIRONMENT: "production", JWT_SECRET: SECRET }).environment).toBe(
      "production",
    );
  });

  it("REQUIRE_API_KEY=true without any credential is refused (it forbids anonymous access)", () => {
    expect(refusal({ REQUIRE_API_KEY: "true" })).toContain("REQUIRE_API_KEY");
  });

  it("refuses an API_KEY shorter than 16 characters", () => {
    expect(refusal({ API_KEY: "short-key-123" })).toMatch(/API_KEY must be at least 16/);
    expect(loadConfig({ API_KEY: "x".repeat(16) }).apiKey).toBe("x".repeat(16));
  });

  it("refuses the same key twice, across API_KEY and API_KEYS or within API_KEYS", () => {
    expect(refusal({ API_KEY: KEY, API_KEYS: `${KEY}=acme:viewer` })).toMatch(/same key twice/);
    expect(refusal({ API_KEYS: `${KEY}=acme:viewer,${KEY}=globex:admin` })).toMatch(
      /same key twice/,
    );
    expect(refusal({ API_KEYS: `${KEY}=acme:viewer,${KEY}=globex:admin` })).not.toContain(KEY);
  });

  it("refuses JWT_SECRET and JWT_JWKS_URL together", () => {
    expect(
      refusal({ JWT_SECRET: SECRET, JWT_JWKS_URL: "https://idp.example.com/jwks.json" }),
    ).toMatch(/JWT_SECRET and JWT_JWKS_URL are both set/);
  });

  it("takes JWKS only over https, or http on loopback", () => {
    expect(refusal({ JWT_JWKS_URL: "http://idp.example.com/jwks.json" })).toMatch(
      /JWT_JWKS_URL must be an https URL/,
    );
    expect(refusal({ JWT_JWKS_URL: "ftp://idp.example.com/jwks.json" })).toContain("JWT_JWKS_URL");
    expect(loadConfig({ JWT_JWKS_URL: "http://127.0.0.1:9999/jwks" }).jwt.jwksUrl).toBe(
      "http://127.0.0.1:9999/jwks",
    );
  });

  it("reads TRUST_PROXY as off, on, a hop count or proxy addresses", () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: "true" }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: "2" }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: "10.0.0.0/8, 192.168.1.7" }).trustProxy).toEqual([
      "10.0.0.0/8",
      "192.168.1.7",
    ]);
    expect(refusal({ TRUST_PROXY: "proxy.internal" })).toContain("TRUST_PROXY");
    expect(refusal({ TRUST_PROXY: "10.0.0.0/99" })).toContain("TRUST_PROXY");
  });

  it("refuses a METRICS_TOKEN shorter than 16 characters and bad quota values", () => {
    expect(refusal({ METRICS_TOKEN: "short" })).toContain("METRICS_TOKEN");
    expect(refusal({ SAGA_QUOTA_STARTS_PER_SECOND: "0" })).toContain(
      "SAGA_QUOTA_STARTS_PER_SECOND",
    );
    expect(refusal({ SAGA_STREAMS_MAX: "many" })).toContain("SAGA_STREAMS_MAX");
    expect(refusal({ SAGA_STREAM_KEEPALIVE_SECONDS: "0" })).toContain(
      "SAGA_STREAM_KEEPALIVE_SECONDS",
    );
  });

  it("has documented defaults for every API limit", () => {
    expect(loadConfig({}).limits).toEqual({
      startsPerSecond: 100,
      definitionsPerTenant: 200,
      streamsPerPrincipal: 16,
      streamsPerTenant: 128,
      streamsTotal: 1024,
      streamKeepAliveMs: 15_000,
      eventBytes: 262_144,
      metricLabelValues: 500,
    });
  });

  it("knows which addresses are loopback", () => {
    for (const host of ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "example.com", "128.0.0.1", "::ffff:10.0.0.1"])
      expect(isLoopbackHost(host), host).toBe(false);
  });
});
