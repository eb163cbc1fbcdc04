import { Limits } from "../core/limits.js";
import {
  API_SETTINGS,
  ConfigError,
  envReader,
  loadApiLimits,
  loadAuthConfig,
  urlSetting,
  type ApiLimits,
  type AuthConfig,
} from "./api-config.js";

import { redisSetting, type RedisClusterSetting } from "./redis-setting.js";
import { seedCompatibleEnv } from "./seed-env.js";
import { loadTracingConfig, TRACING_SETTINGS, type TracingConfig } from "./tracing-config.js";

export { ConfigError, Roles, type Role } from "./api-config.js";
export type { TracingConfig } from "./tracing-config.js";
export type { RedisClusterSetting } from "./redis-setting.js";

/**
 * The service's configuration: one schema, read once from the environment at the composition
 * root (`saga serve`, `saga worker`). Variable names follow the seeds. Unknown `SAGA_*` variables
 * are refused (a typo must not silently fall back to a default). Library code gets the typed object.
 */
export interface ServiceConfig extends AuthConfig {
  port: number;
  host: string;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  environment: "development" | "test" | "staging" | "production";
  /** PostgreSQL; null = embedded PGlite in `dataDir`. */
  databaseUrl: string | null;
  dataDir: string;
  /** REDIS_URL as given (a Redis bus is on when set), a server's or a cluster's. */
  redisUrl: string | null;
  /** The seed nodes when REDIS_URL is `redis+cluster://…`; null for one server or none. */
  redisCluster: RedisClusterSetting | null;
  sagaTimeoutSeconds: number | null;
  sagaRetryAttempts: number;
  sagaStepTimeoutSeconds: number | null;
  /** First retry delay of the service's sagas (SAGA_RETRY_DELAY_SECONDS); null = engine default. */
  sagaRetryDelaySeconds: number | null;
  /** Most PostgreSQL connections one process opens (DATABASE_POOL_SIZE); null = store default. */
  databasePoolSize: number | null;
  leaseSeconds: number;
  workerConcurrency: number;
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
  shutdownGraceSeconds: number;
  /** Largest step result (serialised JSON bytes); larger fails the step. Default 1 MiB. */
  maxStepResultBytes: number;
  /** Largest `data` of a published event (bytes). Default 256 KiB. */
  maxEventBytes: number;
  /** Most events one replay writes to the outbox. Default 10,000. */
  maxReplayEvents: number;
  /** Days to keep the events of finished sagas and audit rows (SAGA_RETENTION_DAYS); null: forever. */
  retentionDays: number | null;
  /** Base URLs of the services http steps call, by service name (`user`, `airtable`, …). */
  serviceUrls: Record<string, string>;
  /** Extra hosts/CIDRs http steps may reach besides the service URLs (SAGA_HTTP_ALLOWLIST). */
  httpAllowlist: string[];
  /** Platform secrets ({{secrets.NAME}}): a JSON or NAME=value file (SAGA_SECRETS_FILE). */
  secretsFile: string | null;
  /** Platform secrets: a folder with one file per secret (SAGA_SECRETS_DIR). */
  secretsDir: string | null;
  /** 32-byte key (hex or base64) sealing tenant secrets at rest (SAGA_SECRETS_KEY); null: stored plain. */
  secretsKey: string | null;
  /** A folder of saga definitions (JSON/YAML) loaded at start-up, besides the built-in ones. */
  definitionsDir: string | null;
  /** Per-tenant quotas and caps of the HTTP API. */
  limits: ApiLimits;
  /** OpenTelemetry tracing: off unless an OTLP endpoint is set or SAGA_TRACING=on. */
  tracing: TracingConfig;
}

/** The seeds' service variables, and the service names http steps use for them. */
export const SERVICE_URL_VARIABLES: Readonly<Record<string, string>> = {
  USER_SERVICE_URL: "user",
  PERMISSION_SERVICE_URL: "permission",
  NOTIFICATION_SERVICE_URL: "notification",
  AIRTABLE_CONNECTOR_URL: "airtable",
  AUTH_SERVICE_URL: "auth",
};

type Env = Readonly<Record<string, string | undefined>>;

/** Every variable `loadConfig` reads (an unknown `SAGA_*` one fails start-up). */
export const KNOWN_SETTINGS: ReadonlySet<string> = new Set([
  "PORT",
  "HOST",
  "LOG_LEVEL",
  "ENVIRONMENT",
  "DATABASE_URL",
  "SAGA_DATA_DIR",
  "REDIS_URL",
  "API_KEY",
  "API_KEYS",
  "REQUIRE_API_KEY",
  "JWT_SECRET",
  "JWT_JWKS_URL",
  "JWT_ISSUER",
  "JWT_AUDIENCE",
  "JWT_TENANT_CLAIM",
  "JWT_ROLES_CLAIM",
  "SAGA_TIMEOUT_SECONDS",
  "SAGA_RETRY_ATTEMPTS",
  "SAGA_STEP_TIMEOUT_SECONDS",
  "SAGA_RETRY_DELAY_SECONDS",
  "DATABASE_POOL_SIZE",
  "SAGA_LEASE_SECONDS",
  "SAGA_WORKER_CONCURRENCY",
  "SAGA_RATE_LIMIT_PER_MINUTE",
  "SAGA_BODY_LIMIT_BYTES",
  "SAGA_SHUTDOWN_GRACE_SECONDS",
  "SAGA_MAX_STEP_RESULT_BYTES",
  "SAGA_MAX_REPLAY_EVENTS",
  "SAGA_RETENTION_DAYS",
  "SAGA_HTTP_ALLOWLIST",
  "SAGA_SECRETS_FILE",
  "SAGA_SECRETS_DIR",
  "SAGA_SECRETS_KEY",
  "SAGA_DEFINITIONS_DIR",
  "SAGA_URL",
  ...TRACING_SETTINGS,
  ...API_SETTINGS,
]);

/** Reads and validates the configuration; throws `ConfigError` naming the first bad variable. */
export function loadConfig(rawEnv: Env = process.env): ServiceConfig {
  const env = seedCompatibleEnv(rawEnv, (message) => new ConfigError(message)); // seed names
  for (const name of Object.keys(env)) {
    if (
      name.startsWith("SAGA_") &&
      !KNOWN_SETTINGS.has(name) &&
      !/^SERVICE_[A-Z0-9_]+_URL$/.test(name)
    ) {
      throw new ConfigError(
        `${name} is not a known setting (known SAGA_* settings: ${[...KNOWN_SETTINGS].filter((k) => k.startsWith("SAGA_")).join(", ")})`,
      );
    }
  }
  const { str, int } = envReader(env);
  // Durations have a documented maximum (docs/security/input-bounds.md): 365 days by default.
  const seconds = (
    name: string,
    fallback: number | null,
    max = Limits.MAX_DURATION_MS / 1000,
  ): number | null => {
    const raw = str(name);
    if (raw === null) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || value > max) {
      throw new ConfigError(
        `${name} must be a positive number of seconds, at most ${max} (got ${JSON.stringify(raw)})`,
      );
    }
    return value;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name)?.toLowerCase() ?? null;
    if (raw === null) return fallback;
    if (["true", "1", "yes", "on"].includes(raw)) return true;
    if (["false", "0", "no", "off"].includes(raw)) return false;
    throw new ConfigError(`${name} must be true or false (got ${JSON.stringify(env[name])})`);
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = str(name)?.toLowerCase() ?? null;
    if (raw === null) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new ConfigError(
        `${name} must be one of ${allowed.join(", ")} (got ${JSON.stringify(env[name])})`,
      );
    }
    return raw as T;
  };
  const url = (name: string, schemes: string[]): string | null => urlSetting(str, name, schemes);

  const environment = oneOf(
    "ENVIRONMENT",
    ["development", "test", "staging", "production"] as const,
    "development",
  );
  const host = str("HOST") ?? "127.0.0.1";
  const auth = loadAuthConfig(env, host, environment, bool);
  const limits = loadApiLimits(env);
  const redis = redisSetting(str, "REDIS_URL");
  return {
    port: int("PORT", 8008, 1, 65535),
    host,
    logLevel: oneOf(
      "LOG_LEVEL",
      ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const,
      "info",
    ),
    environment,
    databaseUrl: url("DATABASE_URL", ["postgres:", "postgresql:"]),
    dataDir: str("SAGA_DATA_DIR") ?? "./.saga-data",
    redisUrl: redis.url,
    redisCluster: redis.cluster,
    ...auth,
    sagaTimeoutSeconds: seconds("SAGA_TIMEOUT_SECONDS", null),
    sagaRetryAttempts: int("SAGA_RETRY_ATTEMPTS", 3, 1, 100),
    sagaStepTimeoutSeconds: seconds("SAGA_STEP_TIMEOUT_SECONDS", null),
    sagaRetryDelaySeconds: seconds("SAGA_RETRY_DELAY_SECONDS", null),
    databasePoolSize:
      str("DATABASE_POOL_SIZE") === null ? null : int("DATABASE_POOL_SIZE", 4, 1, 1000),
    leaseSeconds: seconds("SAGA_LEASE_SECONDS", 30, 3600)!,
    workerConcurrency: int("SAGA_WORKER_CONCURRENCY", 1000, 1, 100_000),
    rateLimitPerMinute: int("SAGA_RATE_LIMIT_PER_MINUTE", 6000, 1, 10_000_000),
    bodyLimitBytes: int("SAGA_BODY_LIMIT_BYTES", 1_048_576, 1024, 104_857_600),
    shutdownGraceSeconds: seconds("SAGA_SHUTDOWN_GRACE_SECONDS", 10, 3600)!,
    maxStepResultBytes: int(
      "SAGA_MAX_STEP_RESULT_BYTES",
      Limits.DEFAULT_MAX_STEP_RESULT_BYTES,
      1024,
      Limits.MAX_CONFIGURABLE_BYTES,
    ),
    maxEventBytes: limits.eventBytes,
    maxReplayEvents: int("SAGA_MAX_REPLAY_EVENTS", Limits.DEFAULT_MAX_REPLAY_EVENTS, 1, 1_000_000),
    retentionDays:
      str("SAGA_RETENTION_DAYS") === null ? null : int("SAGA_RETENTION_DAYS", 0, 1, 36_500),
    serviceUrls: serviceUrls(env, url),
    httpAllowlist: (str("SAGA_HTTP_ALLOWLIST") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    secretsFile: str("SAGA_SECRETS_FILE"),
    secretsDir: str("SAGA_SECRETS_DIR"),
    secretsKey: secretsKey(str("SAGA_SECRETS_KEY")),
    definitionsDir: str("SAGA_DEFINITIONS_DIR"),
    limits,
    tracing: loadTracingConfig(str),
  };
}

function secretsKey(raw: string | null): string | null {
  if (raw === null) return null;
  const bytes = /^[0-9a-fA-F]{64}$/.test(raw)
    ? 32
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(raw)
      ? Buffer.from(raw, "base64").length
      : 0;
  if (bytes !== 32)
    throw new ConfigError(
      "SAGA_SECRETS_KEY must be 32 bytes as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)",
    );
  return raw;
}

function serviceUrls(
  env: Env,
  url: (name: string, protocols: string[]) => string | null,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [variable, service] of Object.entries(SERVICE_URL_VARIABLES)) {
    const value = url(variable, ["http:", "https:"]);
    if (value) out[service] = value;
  }
  for (const name of Object.keys(env)) {
    const match = /^SERVICE_([A-Z0-9_]+)_URL$/.exec(name);
    const value = match ? url(name, ["http:", "https:"]) : null;
    if (match && value) out[match[1]!.toLowerCase()] = value;
  }
  return out;
}
