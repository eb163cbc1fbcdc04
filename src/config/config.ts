/**
 * The service's configuration: one schema, read once from the environment at the composition
 * root (`saga serve`, `saga worker`). Variable names follow the seeds. Unknown `SAGA_*` variables
 * are refused (a typo must not silently fall back to a default). Library code gets the typed object.
 */
export interface ServiceConfig {
  port: number;
  host: string;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  environment: "development" | "test" | "staging" | "production";
  /** PostgreSQL; null = embedded PGlite in `dataDir`. */
  databaseUrl: string | null;
  dataDir: string;
  redisUrl: string | null;
  apiKey: string | null;
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
  sagaTimeoutSeconds: number | null;
  sagaRetryAttempts: number;
  sagaStepTimeoutSeconds: number | null;
  leaseSeconds: number;
  workerConcurrency: number;
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
  shutdownGraceSeconds: number;
  /** Days to keep the events of finished sagas and audit rows (SAGA_RETENTION_DAYS); null: forever. */
  retentionDays: number | null;
  /** Base URLs of the services http steps call, by service name (`user`, `airtable`, …). */
  serviceUrls: Record<string, string>;
  /** Extra hosts/CIDRs http steps may reach besides the service URLs (SAGA_HTTP_ALLOWLIST). */
  httpAllowlist: string[];
  /** A JSON file of secret name -> value for {{secrets.NAME}}; unset = environment variables. */
  secretsFile: string | null;
  /** A folder of saga definitions (JSON/YAML) loaded at start-up, besides the built-in ones. */
  definitionsDir: string | null;
}

/** The seeds' service variables, and the service names http steps use for them. */
export const SERVICE_URL_VARIABLES: Readonly<Record<string, string>> = {
  USER_SERVICE_URL: "user",
  PERMISSION_SERVICE_URL: "permission",
  NOTIFICATION_SERVICE_URL: "notification",
  AIRTABLE_CONNECTOR_URL: "airtable",
  AUTH_SERVICE_URL: "auth",
};

export const Roles = { viewer: "viewer", operator: "operator", admin: "admin" } as const;
export type Role = (typeof Roles)[keyof typeof Roles];

/** A configuration value that cannot be used: the message names the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "SAGA_INVALID_CONFIG";
}

type Env = Readonly<Record<string, string | undefined>>;

const KNOWN = new Set([
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
  "SAGA_LEASE_SECONDS",
  "SAGA_WORKER_CONCURRENCY",
  "SAGA_RATE_LIMIT_PER_MINUTE",
  "SAGA_BODY_LIMIT_BYTES",
  "SAGA_SHUTDOWN_GRACE_SECONDS",
  "SAGA_RETENTION_DAYS",
  "SAGA_HTTP_ALLOWLIST",
  "SAGA_SECRETS_FILE",
  "SAGA_DEFINITIONS_DIR",
  "SAGA_URL",
]);

/** Reads and validates the configuration; throws `ConfigError` naming the first bad variable. */
export function loadConfig(env: Env = process.env): ServiceConfig {
  for (const name of Object.keys(env)) {
    if (name.startsWith("SAGA_") && !KNOWN.has(name) && !/^SERVICE_[A-Z0-9_]+_URL$/.test(name)) {
      throw new ConfigError(
        `${name} is not a known setting (known SAGA_* settings: ${[...KNOWN].filter((k) => k.startsWith("SAGA_")).join(", ")})`,
      );
    }
  }
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
  const seconds = (name: string, fallback: number | null): number | null => {
    const raw = str(name);
    if (raw === null) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || value > 31_536_000) {
      throw new ConfigError(
        `${name} must be a positive number of seconds (got ${JSON.stringify(raw)})`,
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
  const url = (name: string, protocols: string[]): string | null => {
    const raw = str(name);
    if (raw === null) return null;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(`${name} must be a URL (got a value that does not parse)`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(
        `${name} must be a ${protocols.join(" or ")} URL (got ${parsed.protocol})`,
      );
    }
    return raw;
  };

  const environment = oneOf(
    "ENVIRONMENT",
    ["development", "test", "staging", "production"] as const,
    "development",
  );
  const apiKey = str("API_KEY");
  const requireApiKey = bool("REQUIRE_API_KEY", false);
  const jwtSecret = str("JWT_SECRET");
  if (jwtSecret !== null && jwtSecret.length < 32) {
    throw new ConfigError(
      "JWT_SECRET must be at least 32 characters (HS256 needs a 256-bit secret)",
    );
  }
  const apiKeys = parseApiKeys(str("API_KEYS"));
  if (
    requireApiKey &&
    apiKey === null &&
    apiKeys.length === 0 &&
    jwtSecret === null &&
    str("JWT_JWKS_URL") === null
  ) {
    throw new ConfigError(
      "REQUIRE_API_KEY=true needs API_KEY (or API_KEYS, JWT_SECRET or JWT_JWKS_URL) to be set",
    );
  }
  return {
    port: int("PORT", 8008, 1, 65535),
    host: str("HOST") ?? "127.0.0.1",
    logLevel: oneOf(
      "LOG_LEVEL",
      ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const,
      "info",
    ),
    environment,
    databaseUrl: url("DATABASE_URL", ["postgres:", "postgresql:"]),
    dataDir: str("SAGA_DATA_DIR") ?? "./.saga-data",
    redisUrl: url("REDIS_URL", ["redis:", "rediss:"]),
    apiKey,
    requireApiKey,
    apiKeys,
    jwt: {
      secret: jwtSecret,
      jwksUrl: url("JWT_JWKS_URL", ["https:", "http:"]),
      issuer: str("JWT_ISSUER"),
      audience: str("JWT_AUDIENCE"),
      tenantClaim: str("JWT_TENANT_CLAIM") ?? "tenant",
      rolesClaim: str("JWT_ROLES_CLAIM") ?? "roles",
    },
    sagaTimeoutSeconds: seconds("SAGA_TIMEOUT_SECONDS", null),
    sagaRetryAttempts: int("SAGA_RETRY_ATTEMPTS", 3, 1, 100),
    sagaStepTimeoutSeconds: seconds("SAGA_STEP_TIMEOUT_SECONDS", null),
    leaseSeconds: seconds("SAGA_LEASE_SECONDS", 30)!,
    workerConcurrency: int("SAGA_WORKER_CONCURRENCY", 1000, 1, 100_000),
    rateLimitPerMinute: int("SAGA_RATE_LIMIT_PER_MINUTE", 6000, 1, 10_000_000),
    bodyLimitBytes: int("SAGA_BODY_LIMIT_BYTES", 1_048_576, 1024, 104_857_600),
    shutdownGraceSeconds: seconds("SAGA_SHUTDOWN_GRACE_SECONDS", 10)!,
    retentionDays:
      str("SAGA_RETENTION_DAYS") === null ? null : int("SAGA_RETENTION_DAYS", 0, 1, 36_500),
    serviceUrls: serviceUrls(env, url),
    httpAllowlist: (str("SAGA_HTTP_ALLOWLIST") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    secretsFile: str("SAGA_SECRETS_FILE"),
    definitionsDir: str("SAGA_DEFINITIONS_DIR"),
  };
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

function parseApiKeys(raw: string | null): ServiceConfig["apiKeys"] {
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
