import { existsSync, readFileSync } from "node:fs";
import { ErrorCodes, SagaError } from "../core/errors.js";
import { resolve } from "node:path";

/**
 * The environment the service's commands read: the process environment, plus a `.env` file in
 * the working directory when there is one (the real environment wins over the file), plus
 * `NAME_FILE` variables (Docker/Kubernetes secrets) read into `NAME`. Called once by the CLI
 * before `loadConfig`; library code never reads files for configuration.
 */
export interface ServiceEnv {
  env: Record<string, string | undefined>;
  /** The `.env` file read, if any (for the start-up log). */
  envFile: string | null;
}

/** Variables that may come from a file (`NAME_FILE=/run/secrets/…`). */
export const FILE_VARIABLES = [
  "DATABASE_URL",
  "REDIS_URL",
  "API_KEY",
  "API_KEYS",
  "JWT_SECRET",
  "DB_PASSWORD",
  "REDIS_PASSWORD",
  "SAGA_API_KEY",
] as const;

const MAX_FILE_BYTES = 1_048_576;

/** A `.env` or `NAME_FILE` file that cannot be used: the message names it (SAGA_INVALID_CONFIG). */
export class EnvFileError extends SagaError {
  override readonly name = "EnvFileError";
  constructor(message: string) {
    super(ErrorCodes.SAGA_INVALID_CONFIG, message);
  }
}

export function readServiceEnv(
  processEnv: Readonly<Record<string, string | undefined>>,
  cwd: string = process.cwd(),
): ServiceEnv {
  const env: Record<string, string | undefined> = {};
  const path = resolve(cwd, ".env");
  let envFile: string | null = null;
  if (existsSync(path)) {
    envFile = path;
    Object.assign(env, parseEnvFile(readBounded(path, ".env"), path));
  }
  for (const [name, value] of Object.entries(processEnv))
    if (value !== undefined) env[name] = value;
  for (const name of FILE_VARIABLES) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file.trim() === "") continue;
    const direct = env[name];
    if (direct !== undefined && direct.trim() !== "") {
      throw new EnvFileError(`${name} and ${name}_FILE are both set: keep one`);
    }
    env[name] = readBounded(file.trim(), `${name}_FILE`).trim();
    delete env[`${name}_FILE`];
  }
  return { env, envFile };
}

function readBounded(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new EnvFileError(
      `${what}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  if (text.length > MAX_FILE_BYTES) throw new EnvFileError(`${what}: ${path} is over 1 MiB`);
  return text;
}

/**
 * `NAME=value` lines; `#` comments and blank lines skipped; `export ` prefixes allowed; values in
 * single quotes are literal, in double quotes may hold \n escapes; no variable expansion.
 */
export function parseEnvFile(text: string, path = ".env"): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new EnvFileError(`${path} line ${i + 1}: expected NAME=value`);
    let value = match[2]!;
    if (/^'.*'$/.test(value) && value.length >= 2) value = value.slice(1, -1);
    else if (/^".*"$/.test(value) && value.length >= 2)
      value = value.slice(1, -1).replace(/\\n/g, "\n").replace(/\\"/g, '"');
    else value = value.replace(/\s+#.*$/, "");
    out[match[1]!] = value;
  });
  return out;
}
