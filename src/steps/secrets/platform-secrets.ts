import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { SecretSource } from "../http/secrets.js";
import { SECRET_NAME } from "./tenant-secrets.js";

/**
 * The platform's secrets, `{{secrets.NAME}}` in built-in and operator-loaded definitions only.
 * Never the process environment. From:
 * - a folder (SAGA_SECRETS_DIR): one file per secret, named after it (a Kubernetes secret
 *   mount); read at each dispatch, so a rotated file is used at once; a trailing newline is cut;
 * - a file (SAGA_SECRETS_FILE): a JSON object of name -> string, or `NAME=value` lines (`#`
 *   comments), read once at start-up.
 * Throws at start-up (a message naming the variable) when the file or folder cannot be read.
 */
export async function loadPlatformSecrets(options: {
  file: string | null;
  dir: string | null;
}): Promise<{ source: SecretSource; names: () => Promise<string[]> }> {
  const fromFile = options.file ? await readSecretsFile(options.file) : new Map<string, string>();
  const dir = options.dir;
  if (dir) {
    const info = await stat(dir).catch(() => null);
    if (!info?.isDirectory()) throw new Error(`SAGA_SECRETS_DIR ${dir} is not a readable folder`);
  }
  return {
    source: async (name) => {
      if (!SECRET_NAME.test(name)) return undefined;
      if (dir) {
        const text = await readFile(join(dir, name), "utf8").catch(() => null);
        if (text !== null) return text.replace(/\r?\n$/, "");
      }
      return fromFile.get(name);
    },
    names: async () => [
      ...new Set([
        ...fromFile.keys(),
        ...(dir ? (await readdir(dir)).filter((f) => SECRET_NAME.test(f)) : []),
      ]),
    ],
  };
}

async function readSecretsFile(file: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new Error(`SAGA_SECRETS_FILE ${file} cannot be read`);
  }
  const out = new Map<string, string>();
  if (text.trimStart().startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`SAGA_SECRETS_FILE ${file} is not valid JSON`);
    }
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof value !== "string" || !SECRET_NAME.test(name))
        throw new Error(
          `SAGA_SECRETS_FILE ${file}: ${name.slice(0, 64)} must be a name with a string value`,
        );
      out.set(name, value);
    }
    return out;
  }
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const eq = trimmed.indexOf("=");
    const name = trimmed.slice(0, eq).trim();
    if (eq < 1 || !SECRET_NAME.test(name))
      throw new Error(`SAGA_SECRETS_FILE ${file} line ${i + 1} is not NAME=value`);
    let value = trimmed.slice(eq + 1).trim();
    if (value.length >= 2 && /^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    out.set(name, value);
  });
  return out;
}
