/**
 * The API's part of the configuration: who may call (API keys, JWT, anonymous), the proxy in
 * front, the `/metrics` credential and the per-tenant quotas of the HTTP API. Read by
 * `loadConfig`; the rules here are the fail-closed ones documented in docs/security/api.md.
 */
import { ErrorCodes, SagaError } from "../core/errors.js";
import { Limits } from "../core/limits.js";
import { isIP } from "node:net";

export const Roles = { viewer: "viewer", operator: "operator", admin: "admin" } as const;
export type Role = (typeof Roles)[keyof typeof Roles];

/** A configuration value that cannot be used: the message names the variable (and the fix). */
export class ConfigError extends SagaError {
  override readonly name = "ConfigError";
  constructor(message: string) {
    super(ErrorCodes.SAGA_INVALID_CONFIG, message);
  }
}

export interface AuthConfig {
  apiKey: string | null;
  /**
   * Kept for compatibility. `true`: never serve anonymous requests (start-up refuses when no
   * credential is configured). `false` no longer opens anything: any configured credential makes
   * credentials mandatory, whatever this says.
   */
  requireApiKey: boolean;
  /** Extra API keys: `key=tenant:role` pairs. */
  apiKeys: { key: string; tenantId: string; role: Role }[];
  jwt: {
    secret: string | null;
    jwksUrl: string | null;
    issuer: string | null;
    audience: string | null;
    tenantClaim: string;
    rolesClaim: string;
  };
  /**
   * Requests without credentials are admin of tenant `default`: only when no credential is
   * configured, the bind address is loopback, ENVIRONMENT is not production and REQUIRE_API_KEY
   * is not true. Derived, never set directly.
   */
  anonymousAccess: boolean;
  /**
   * Which proxies' `X-Forwarded-For` to believe for the client address (failed-auth limiter,
   * rate limits, logs): false (default, the socket's address), true (any), a hop count, or
   * addresses/CIDRs. Passed to Fastify's `trustProxy`.
   */
  trustProxy: boolean | number | string[];
  /** When set, `GET /metrics` needs `Authorization: Bearer <token>`. */
  metricsToken: string | null;
}

/** Per-tenant quotas and caps of the HTTP API (docs/security/api.md lists them). */
export interface ApiLimits {
  /** Saga starts per second per tenant through the API (a token bucket; burst = 2 s). */
  startsPerSecond: number;
  /** Definitions (name + version) a tenant may register. */
  definitionsPerTenant: number;
  /** Open SSE streams per principal (API key or token subject). */
  streamsPerPrincipal: number;
  /** Open SSE streams per tenant. */
  streamsPerTenant: number;
  /** Open SSE streams of the whole process. */
  streamsTotal: number;
  /** Comment line sent on an idle SSE stream, so proxies keep it open (ms). */
  streamKeepAliveMs: number;
  /** Largest event (`data` and `metadata` as JSON, in bytes) `POST /events/publish` accepts. */
  eventBytes: number;
  /** Distinct values a tenant-chosen metric label (saga type, step, error code) may take. */
  metricLabelValues: number;
}

/** The settings this file reads (loadConfig refuses unknown `SAGA_*` names). */
export const API_SETTINGS = [
  "TRUST_PROXY",
  "METRICS_TOKEN",
  "SAGA_QUOTA_STARTS_PER_SECOND",
  "SAGA_QUOTA_DEFINITIONS",
  "SAGA_STREAMS_PER_PRINCIPAL",
  "SAGA_STREAMS_PER_TENANT",
  "SAGA_STREAMS_MAX",
  "SAGA_STREAM_KEEPALIVE_SECONDS",
  "SAGA_MAX_EVENT_BYTES",
  "SAGA_METRICS_MAX_LABEL_VALUES",
] as const;

type Env = Readonly<Record<string, string | undefined>>;

const CREDENTIALS_FIX =
  "set API_KEY (16+ characters), API_KEYS or JWT_SECRET/JWT_JWKS_URL, or bind HOST=127.0.0.1 for local development";

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || /^::ffff:127\./.test(h);
  return false;
}

/** The environment's settings as trimmed strings (blank = unset) and bounded integers. */
/**
 * A URL setting: null when unset; a value that does not parse, or whose scheme is not one of
 * `schemes` (e.g. `["http:", "https:"]`), is a ConfigError naming the setting.
 */
export function urlSetting(
  str: (name: string) => string | null,
  name: string,
  schemes: readonly string[],
): string | null {
  const raw = str(name);
  if (raw === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL (got a value that does not parse)`);
  }
  if (!schemes.includes(parsed.protocol)) {
    const names = schemes.map((s) => s.replace(/:$/, "")).join(" or ");
    const article = /^[aeiouh]/i.test(names) ? "an" : "a";
    throw new ConfigError(`${name} must be ${article} ${names} URL (got ${parsed.protocol})`);
  }
  return raw;
}

export const envReader = (env: Env) => {
  const str = (name: string): string | null => {
    const value = env[name];
    return value === undefined || value.trim() === "" ? null : value.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === null) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(
        `${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`,
      );
    }
    return value;
  };
  return { str, int };
};

/** Reads and checks the auth settings; `host` and `environment` decide about anonymous access. */
export function loadAuthConfig(
  env: Env,
  host: string,
  environment: string,
  bool: (name: string, fallback: boolean) => boolean,
): AuthConfig {
  const { str } = envReader(env);
  const apiKey = str("API_KEY");
  if (apiKey !== null && apiKey.length < 16) {
    throw new ConfigError(
      `API_KEY must be at least 16 characters (got ${apiKey.length}): use a random key, e.g. openssl rand -hex 24`,
    );
  }
  const requireApiKey = bool("REQUIRE_API_KEY", false);
  const jwtSecret = str("JWT_SECRET");
  if (jwtSecret !== null && jwtSecret.length < 32) {
    throw new ConfigError(
      "JWT_SECRET must be at least 32 characters (HS256 needs a 256-bit secret)",
    );
  }
  const jwksUrl = jwksUrlOf(str("JWT_JWKS_URL"));
  if (jwtSecret !== null && jwksUrl !== null) {
    throw new ConfigError(
      "JWT_SECRET and JWT_JWKS_URL are both set: keep only the one your tokens are signed for",
    );
  }
  const apiKeys = parseApiKeys(str("API_KEYS"));
  const all = [...(apiKey === null ? [] : [apiKey]), ...apiKeys.map((k) => k.key)];
  const duplicate = all.find((k, i) => all.indexOf(k) !== i);
  if (duplicate !== undefined) {
    throw new ConfigError(
      `API_KEY/API_KEYS name the same key twice (one starting ${JSON.stringify(duplicate.slice(0, 4))}): give every tenant and role its own key`,
    );
  }
  const configured = all.length > 0 || jwtSecret !== null || jwksUrl !== null;
  if (!configured) {
    if (requireApiKey)
      throw new ConfigError(
        "REQUIRE_API_KEY=true needs API_KEY (or API_KEYS, JWT_SECRET or JWT_JWKS_URL) to be set",
      );
    if (environment === "production")
      throw new ConfigError(
        `ENVIRONMENT=production and no credentials configured: ${CREDENTIALS_FIX}`,
      );
    if (!isLoopbackHost(host))
      throw new ConfigError(
        `HOST=${host} is not loopback and no credentials are configured: ${CREDENTIALS_FIX}`,
      );
  }
  const metricsToken = str("METRICS_TOKEN");
  if (metricsToken !== null && metricsToken.length < 16)
    throw new ConfigError(
      `METRICS_TOKEN must be at least 16 characters (got ${metricsToken.length})`,
    );
  return {
    apiKey,
    requireApiKey,
    apiKeys,
    jwt: {
      secret: jwtSecret,
      jwksUrl,
      issuer: str("JWT_ISSUER"),
      audience: str("JWT_AUDIENCE"),
      tenantClaim: str("JWT_TENANT_CLAIM") ?? "tenant",
      rolesClaim: str("JWT_ROLES_CLAIM") ?? "roles",
    },
    anonymousAccess: !configured,
    trustProxy: trustProxyOf(str("TRUST_PROXY")),
    metricsToken,
  };
}

/** Reads the API's quotas and caps. */
export function loadApiLimits(env: Env): ApiLimits {
  const { int, str } = envReader(env);
  const keepAlive = str("SAGA_STREAM_KEEPALIVE_SECONDS");
  const keepAliveSeconds = keepAlive === null ? 15 : Number(keepAlive);
  if (!Number.isFinite(keepAliveSeconds) || keepAliveSeconds < 0.01 || keepAliveSeconds > 3600)
    throw new ConfigError(
      `SAGA_STREAM_KEEPALIVE_SECONDS must be a number of seconds from 0.01 to 3600 (got ${JSON.stringify(keepAlive)})`,
    );
  return {
    startsPerSecond: int("SAGA_QUOTA_STARTS_PER_SECOND", 100, 1, 1_000_000),
    definitionsPerTenant: int("SAGA_QUOTA_DEFINITIONS", 200, 1, 100_000),
    streamsPerPrincipal: int("SAGA_STREAMS_PER_PRINCIPAL", 16, 1, 100_000),
    streamsPerTenant: int("SAGA_STREAMS_PER_TENANT", 128, 1, 100_000),
    streamsTotal: int("SAGA_STREAMS_MAX", 1024, 1, 1_000_000),
    streamKeepAliveMs: Math.round(keepAliveSeconds * 1000),
    // One setting for both ends: the publish API (data + metadata) and the event store (data).
    eventBytes: int(
      "SAGA_MAX_EVENT_BYTES",
      Limits.DEFAULT_MAX_EVENT_DATA_BYTES,
      1024,
      Limits.MAX_BUS_DATA_BYTES,
    ),
    metricLabelValues: int("SAGA_METRICS_MAX_LABEL_VALUES", 500, 1, 1_000_000),
  };
}

function jwksUrlOf(raw: string | null): string | null {
  if (raw === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError("JWT_JWKS_URL must be a URL (got a value that does not parse)");
  }
  if (parsed.protocol === "https:") return raw;
  if (parsed.protocol === "http:" && isLoopbackHost(parsed.hostname)) return raw;
  throw new ConfigError(
    `JWT_JWKS_URL must be an https URL (http only on loopback; got ${parsed.protocol}//${parsed.hostname})`,
  );
}

function trustProxyOf(raw: string | null): AuthConfig["trustProxy"] {
  if (raw === null) return false;
  const lower = raw.toLowerCase();
  if (["false", "0", "no", "off"].includes(lower)) return false;
  if (["true", "yes", "on"].includes(lower)) return true;
  if (/^[1-9][0-9]?$/.test(raw)) return Number(raw);
  const entries = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [address, bits, extra] = entry.split("/");
    const family = isIP(address ?? "");
    const maxBits = family === 4 ? 32 : 128;
    if (
      family === 0 ||
      extra !== undefined ||
      (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits))
    ) {
      throw new ConfigError(
        `TRUST_PROXY must be true, false, a hop count (1-99) or proxy addresses/CIDRs separated by commas (got ${JSON.stringify(entry)})`,
      );
    }
  }
  return entries;
}

function parseApiKeys(raw: string | null): AuthConfig["apiKeys"] {
  if (raw === null) return [];
  return raw.split(",").map((entry, i) => {
    const match = /^\s*([^=\s]{16,})=([A-Za-z0-9_.-]{1,100}):(viewer|operator|admin)\s*$/.exec(
      entry,
    );
    if (!match) {
      throw new ConfigError(
        `API_KEYS entry ${i + 1} must look like KEY=tenant:role with a key of 16+ characters and role viewer, operator or admin`,
      );
    }
    return { key: match[1]!, tenantId: match[2]!, role: match[3] as Role };
  });
}
