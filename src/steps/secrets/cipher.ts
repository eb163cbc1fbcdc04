import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { ErrorCodes, invalidInput } from "../../core/errors.js";

/**
 * Seals tenant secrets at rest: AES-256-GCM with a random 96-bit IV, bound (as additional data)
 * to the tenant and name, so a sealed value copied to another row does not open. Without a key,
 * values are stored as they are ("plain." prefix) and the service warns at start-up.
 */
export interface SecretCipher {
  readonly encrypted: boolean;
  seal(tenantId: string, name: string, value: string): string;
  open(tenantId: string, name: string, sealed: string): string;
}

const V1 = "v1.";
const PLAIN = "plain.";
const aad = (tenantId: string, name: string) => Buffer.from(`${tenantId}\u0000${name}`, "utf8");
const unreadable = (name: string) =>
  invalidInput(
    `tenant secret ${name} cannot be read with the configured SAGA_SECRETS_KEY; write it again`,
    { code: ErrorCodes.SAGA_INVALID_SECRET },
  );

/** Reads SAGA_SECRETS_KEY: 32 bytes as 64 hex digits or base64. Throws a message naming the fix. */
export function parseSecretsKey(raw: string): Buffer {
  const text = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, "hex")
    : Buffer.from(text, "base64");
  if (key.length !== 32)
    throw new Error(
      "SAGA_SECRETS_KEY must be 32 bytes, as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)",
    );
  return key;
}

export function createSecretCipher(key: Buffer | null): SecretCipher {
  return {
    encrypted: key !== null,
    seal(tenantId, name, value) {
      if (key === null) return `${PLAIN}${value}`;
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(aad(tenantId, name));
      const body = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
      return `${V1}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
    },
    open(tenantId, name, sealed) {
      if (sealed.startsWith(PLAIN)) return sealed.slice(PLAIN.length);
      if (!sealed.startsWith(V1) || key === null) throw unreadable(name);
      const raw = Buffer.from(sealed.slice(V1.length), "base64");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
        decipher.setAAD(aad(tenantId, name));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString(
          "utf8",
        );
      } catch {
        throw unreadable(name);
      }
    },
  };
}
