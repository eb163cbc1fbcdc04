/**
 * The seeds' variable names, translated to the configuration's own before the schema reads them.
 * A team carrying a seed `.env` gets each setting honoured (renamed, composed into a URL, or
 * converted) or refused with one line naming what to use instead; none is silently dropped.
 * Pure: no I/O, no process access; the caller passes the environment and gets a new one.
 */

type Env = Readonly<Record<string, string | undefined>>;

export interface SeedEnvResult {
  /** The environment with seed variables replaced by the configuration's own names. */
  env: Record<string, string | undefined>;
  /** One line per seed variable honoured, for the start-up log (no secret values). */
  notes: string[];
  /** One line per seed variable refused, each naming what to use instead. */
  refusals: string[];
}

/** Every variable this module reads (seed names); `.env.example` documents each one. */
export const SEED_VARIABLES = [
  "DB_HOST",
  "DB_PORT",
  "DB_NAME",
  "DB_USER",
  "DB_PASSWORD",
  "DB_POOL_SIZE",
  "DB_MAX_OVERFLOW",
  "DB_MAX_CONNS",
  "REDIS_HOST",
  "REDIS_PORT",
  "REDIS_PASSWORD",
  "USE_REDIS_EVENT_BUS",
  "SAGA_API_KEY",
  "INTERNAL_API_KEY",
  "SECRET_KEY",
  "DEBUG",
  "KAFKA_BOOTSTRAP_SERVERS",
  "SAGA_TIMEOUT",
  "SAGA_RETRY_DELAY",
  "RATE_LIMIT_MAX_REQUESTS",
  "RATE_LIMIT_WINDOW",
  "MAX_CONCURRENT_SAGAS",
  "CLUSTER_ENABLED",
  "SAGA_VERSIONING_ENABLED",
  "PARALLEL_EXECUTION_ENABLED",
  "DYNAMIC_ROUTING_ENABLED",
  "SAGA_COMPOSITION_ENABLED",
] as const;

const LOG_LEVELS: Readonly<Record<string, string>> = {
  warning: "warn",
  critical: "fatal",
};

/**
 * Translates the seed variables in `env`. Throws `makeError(lines)` when any is refused (one line
 * per refused variable); otherwise returns the environment the config schema reads.
 */
export function seedCompatibleEnv(
  env: Env,
  makeError: (message: string) => Error,
): Record<string, string | undefined> {
  const result = translateSeedEnv(env);
  if (result.refusals.length > 0) throw makeError(result.refusals.join("\n"));
  return result.env;
}

/** Translates the seed variables in `env` without throwing (see `seedCompatibleEnv`). */
export function translateSeedEnv(env: Env): SeedEnvResult {
  const out: Record<string, string | undefined> = { ...env };
  const notes: string[] = [];
  const refusals: string[] = [];
  const get = (name: string): string | null => {
    const value = env[name];
    return value === undefined || value.trim() === "" ? null : value.trim();
  };
  const flag = (name: string): boolean | null => {
    const raw = get(name)?.toLowerCase() ?? null;
    if (raw === null) return null;
    if (["true", "1", "yes", "on"].includes(raw)) return true;
    if (["false", "0", "no", "off"].includes(raw)) return false;
    refusals.push(`${name} must be true or false (got ${JSON.stringify(env[name])})`);
    return null;
  };
  /** Moves a seed name to the configuration's name; both set and different is refused. */
  const rename = (seed: string, target: string, convert: (v: string) => string = (v) => v) => {
    const value = get(seed);
    if (value === null) return;
    delete out[seed];
    const converted = convert(value);
    const existing = get(target);
    if (existing !== null && existing !== converted) {
      refusals.push(`${seed} and ${target} are both set and differ: keep ${target} only`);
      return;
    }
    out[target] = converted;
    notes.push(`${seed} honoured as ${target}`);
  };
  const refuse = (name: string, instead: string) => {
    if (get(name) !== null) refusals.push(`${name} is not supported: ${instead}`);
  };

  // Log levels: Python's names.
  const level = get("LOG_LEVEL");
  if (level !== null && LOG_LEVELS[level.toLowerCase()]) {
    out.LOG_LEVEL = LOG_LEVELS[level.toLowerCase()];
    notes.push(`LOG_LEVEL=${level} honoured as LOG_LEVEL=${out.LOG_LEVEL}`);
  }
  // DEBUG=True/False is the seeds' (Django's); other values (DEBUG=express:*) belong to the
  // `debug` module and are left alone.
  const debug = get("DEBUG")?.toLowerCase() ?? null;
  if (debug !== null && ["true", "1", "yes", "on"].includes(debug)) {
    delete out.DEBUG;
    refusals.push("DEBUG=true is not supported: use LOG_LEVEL=debug");
  } else if (debug !== null && ["false", "0", "no", "off"].includes(debug)) {
    delete out.DEBUG;
    notes.push("DEBUG=false honoured: no debug output (LOG_LEVEL sets the level)");
  }

  // PostgreSQL from DB_* parts.
  const dbParts = ["DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"].filter(
    (n) => get(n) !== null,
  );
  if (dbParts.length > 0) {
    for (const name of dbParts) delete out[name];
    const host = get("DB_HOST");
    const database = get("DB_NAME");
    const port = get("DB_PORT") ?? "5432";
    if (get("DATABASE_URL") !== null) {
      refusals.push(
        `${dbParts.join(", ")} and DATABASE_URL are both set: keep DATABASE_URL only (or only the DB_* parts)`,
      );
    } else if (host === null || database === null) {
      refusals.push(
        `${dbParts.join(", ")} set without ${host === null ? "DB_HOST" : "DB_NAME"}: set DB_HOST and DB_NAME, or DATABASE_URL=postgresql://user:password@host:5432/database`,
      );
    } else if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      refusals.push(`DB_PORT must be a port number (got ${JSON.stringify(port)})`);
    } else {
      const user = get("DB_USER");
      const password = get("DB_PASSWORD");
      const auth =
        user === null
          ? ""
          : `${encodeURIComponent(user)}${password === null ? "" : `:${encodeURIComponent(password)}`}@`;
      out.DATABASE_URL = `postgresql://${auth}${hostPart(host)}:${port}/${encodeURIComponent(database)}`;
      notes.push(`${dbParts.join(", ")} honoured as DATABASE_URL (PostgreSQL ${host}:${port})`);
    }
  }
  poolSize(get, out, notes, refusals);

  // Redis from REDIS_HOST/REDIS_PORT/REDIS_PASSWORD.
  const redisHost = get("REDIS_HOST");
  const redisPort = get("REDIS_PORT");
  const redisPassword = get("REDIS_PASSWORD");
  delete out.REDIS_HOST;
  delete out.REDIS_PORT;
  delete out.REDIS_PASSWORD;
  if (redisHost !== null || redisPort !== null) {
    const port = redisPort ?? "6379";
    if (get("REDIS_URL") !== null) {
      refusals.push(
        "REDIS_HOST/REDIS_PORT and REDIS_URL are both set: keep REDIS_URL only (or only REDIS_HOST/REDIS_PORT)",
      );
    } else if (redisHost === null) {
      refusals.push("REDIS_PORT is set without REDIS_HOST: set REDIS_HOST too, or REDIS_URL");
    } else if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      refusals.push(`REDIS_PORT must be a port number (got ${JSON.stringify(port)})`);
    } else {
      const auth = redisPassword === null ? "" : `:${encodeURIComponent(redisPassword)}@`;
      out.REDIS_URL = `redis://${auth}${hostPart(redisHost)}:${port}`;
      notes.push(`REDIS_HOST/REDIS_PORT honoured as REDIS_URL (Redis ${redisHost}:${port})`);
    }
  } else if (redisPassword !== null) {
    const url = get("REDIS_URL");
    let parsed: URL | null;
    try {
      parsed = url === null ? null : new URL(url);
    } catch {
      parsed = null; // the config schema reports the bad REDIS_URL
    }
    if (url === null) {
      refusals.push("REDIS_PASSWORD is set without Redis: set REDIS_URL (or REDIS_HOST) too");
    } else if (/^rediss?\+cluster:/i.test(url)) {
      refusals.push(
        "REDIS_PASSWORD with a redis+cluster REDIS_URL: put the password in the URL (redis+cluster://:password@host:port,…)",
      );
    } else if (parsed && parsed.password !== "" && parsed.password !== redisPassword) {
      refusals.push(
        "REDIS_PASSWORD differs from the password in REDIS_URL: keep the one in REDIS_URL",
      );
    } else if (parsed && parsed.password === "") {
      parsed.password = encodeURIComponent(redisPassword);
      out.REDIS_URL = parsed.toString();
      notes.push("REDIS_PASSWORD honoured: added to REDIS_URL");
    }
  }
  const useRedis = flag("USE_REDIS_EVENT_BUS");
  delete out.USE_REDIS_EVENT_BUS;
  if (useRedis === true && get("REDIS_URL") === null && out.REDIS_URL === undefined) {
    refusals.push("USE_REDIS_EVENT_BUS=true needs Redis: set REDIS_URL (or REDIS_HOST)");
  } else if (useRedis === true) {
    notes.push("USE_REDIS_EVENT_BUS=true honoured: the bus is Redis Streams");
  } else if (useRedis === false) {
    delete out.REDIS_URL;
    notes.push("USE_REDIS_EVENT_BUS=false honoured: REDIS_URL unused, the bus is in-process");
  }

  // Keys and secrets.
  rename("SAGA_API_KEY", "API_KEY");
  refuse(
    "INTERNAL_API_KEY",
    "give internal callers a key of their own in API_KEYS (KEY=tenant:role)",
  );
  refuse(
    "SECRET_KEY",
    "set JWT_SECRET to accept signed tokens (32+ characters), or API_KEY for a static key",
  );
  refuse("KAFKA_BOOTSTRAP_SERVERS", "the event bus is Redis Streams: set REDIS_URL");
  for (const name of ["INTERNAL_API_KEY", "SECRET_KEY", "KAFKA_BOOTSTRAP_SERVERS"])
    delete out[name];

  // Saga defaults and limits.
  rename("SAGA_TIMEOUT", "SAGA_TIMEOUT_SECONDS");
  rename("SAGA_RETRY_DELAY", "SAGA_RETRY_DELAY_SECONDS");
  rename("MAX_CONCURRENT_SAGAS", "SAGA_WORKER_CONCURRENCY");
  rateLimit(get, out, notes, refusals);

  // Feature flags: each feature is always on; saying so is fine, switching it off is refused.
  const features: [string, boolean, string][] = [
    [
      "CLUSTER_ENABLED",
      true,
      "processes share work through PostgreSQL (DATABASE_URL) whenever several run",
    ],
    ["SAGA_VERSIONING_ENABLED", true, "definitions are always versioned"],
    ["SAGA_COMPOSITION_ENABLED", true, "child-saga steps are always available"],
    ["PARALLEL_EXECUTION_ENABLED", true, "parallel step groups are always available"],
    ["DYNAMIC_ROUTING_ENABLED", true, "conditional steps (`when`) are always available"],
  ];
  for (const [name, supported, why] of features) {
    const value = flag(name);
    delete out[name];
    if (value === null) continue;
    if (name === "CLUSTER_ENABLED" && value && out.DATABASE_URL === undefined) {
      refusals.push(
        "CLUSTER_ENABLED=true needs PostgreSQL: set DATABASE_URL (or DB_HOST, DB_NAME)",
      );
    } else if (value === supported) notes.push(`${name}=${String(value)} honoured: ${why}`);
    else refusals.push(`${name}=${String(value)} is not supported: ${why}; remove ${name}`);
  }
  return { env: out, notes, refusals };
}

function hostPart(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

function poolSize(
  get: (name: string) => string | null,
  out: Record<string, string | undefined>,
  notes: string[],
  refusals: string[],
): void {
  const size = get("DB_POOL_SIZE");
  const overflow = get("DB_MAX_OVERFLOW");
  const maxConns = get("DB_MAX_CONNS");
  delete out.DB_POOL_SIZE;
  delete out.DB_MAX_OVERFLOW;
  delete out.DB_MAX_CONNS;
  if (size === null && overflow === null && maxConns === null) return;
  const int = (name: string, raw: string | null): number | null => {
    if (raw === null) return 0;
    if (!/^\d{1,4}$/.test(raw)) {
      refusals.push(`${name} must be a whole number (got ${JSON.stringify(raw)})`);
      return null;
    }
    return Number(raw);
  };
  if (maxConns !== null && (size !== null || overflow !== null)) {
    refusals.push("DB_MAX_CONNS and DB_POOL_SIZE/DB_MAX_OVERFLOW are both set: keep one");
    return;
  }
  if (overflow !== null && size === null) {
    refusals.push("DB_MAX_OVERFLOW is set without DB_POOL_SIZE: set DATABASE_POOL_SIZE instead");
    return;
  }
  const a = int(maxConns !== null ? "DB_MAX_CONNS" : "DB_POOL_SIZE", maxConns ?? size);
  const b = int("DB_MAX_OVERFLOW", overflow);
  if (a === null || b === null) return;
  const total = String(a + b);
  const existing = get("DATABASE_POOL_SIZE");
  if (existing !== null && existing !== total) {
    refusals.push("DATABASE_POOL_SIZE and DB_* pool sizes are both set and differ: keep one");
    return;
  }
  out.DATABASE_POOL_SIZE = total;
  notes.push(
    `${[maxConns !== null ? "DB_MAX_CONNS" : "DB_POOL_SIZE", overflow !== null ? "DB_MAX_OVERFLOW" : ""].filter(Boolean).join(" + ")} honoured as DATABASE_POOL_SIZE=${total} (connections open on demand, idle ones close)`,
  );
}

function rateLimit(
  get: (name: string) => string | null,
  out: Record<string, string | undefined>,
  notes: string[],
  refusals: string[],
): void {
  const max = get("RATE_LIMIT_MAX_REQUESTS");
  const window = get("RATE_LIMIT_WINDOW");
  delete out.RATE_LIMIT_MAX_REQUESTS;
  delete out.RATE_LIMIT_WINDOW;
  if (max === null && window === null) return;
  if (max === null) {
    refusals.push(
      "RATE_LIMIT_WINDOW is set without RATE_LIMIT_MAX_REQUESTS: set SAGA_RATE_LIMIT_PER_MINUTE instead",
    );
    return;
  }
  const seconds = window ?? "60";
  if (!/^\d{1,9}$/.test(max) || Number(max) < 1 || !/^\d{1,7}$/.test(seconds) || +seconds < 1) {
    refusals.push(
      `RATE_LIMIT_MAX_REQUESTS and RATE_LIMIT_WINDOW must be positive whole numbers (requests, seconds): or set SAGA_RATE_LIMIT_PER_MINUTE`,
    );
    return;
  }
  const perMinute = String(Math.max(1, Math.ceil((Number(max) * 60) / Number(seconds))));
  const existing = get("SAGA_RATE_LIMIT_PER_MINUTE");
  if (existing !== null && existing !== perMinute) {
    refusals.push(
      "RATE_LIMIT_MAX_REQUESTS and SAGA_RATE_LIMIT_PER_MINUTE are both set and differ: keep SAGA_RATE_LIMIT_PER_MINUTE only",
    );
    return;
  }
  out.SAGA_RATE_LIMIT_PER_MINUTE = perMinute;
  notes.push(
    `RATE_LIMIT_MAX_REQUESTS=${max} per ${seconds} s honoured as SAGA_RATE_LIMIT_PER_MINUTE=${perMinute}`,
  );
}
