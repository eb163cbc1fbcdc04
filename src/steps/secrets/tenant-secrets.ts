import { ErrorCodes, invalidInput, notFound } from "../../core/errors.js";
import type { SecretEntry, SecretStore } from "../../engine/secret-store-port.js";
import type { TenantSecretSource } from "../http/secrets.js";
import type { SecretCipher } from "./cipher.js";

/** A secret's name: what `{{tenant_secrets.NAME}}` can name. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;
/** Shortest value: shorter ones would be scrubbed out of every result they resemble. */
export const MIN_SECRET_LENGTH = 8;
export const MAX_SECRET_LENGTH = 8_192;

const invalid = (message: string) =>
  invalidInput(message, { code: ErrorCodes.SAGA_INVALID_SECRET });

/**
 * A tenant's secrets: written (admin) and deleted through the API or CLI, listed by name only,
 * read at dispatch only (`source`) for that same tenant's sagas.
 */
export class TenantSecrets {
  constructor(
    private readonly store: SecretStore,
    private readonly cipher: SecretCipher,
  ) {}

  /** Whether values are encrypted at rest (SAGA_SECRETS_KEY is set). */
  get encrypted(): boolean {
    return this.cipher.encrypted;
  }

  async set(tenantId: string, name: string, value: unknown): Promise<{ created: boolean }> {
    checkName(name);
    if (typeof value !== "string") throw invalid("a secret's value must be a string");
    if (value.length < MIN_SECRET_LENGTH || value.length > MAX_SECRET_LENGTH)
      throw invalid(
        `a secret's value must be ${MIN_SECRET_LENGTH} to ${MAX_SECRET_LENGTH} characters long`,
      );
    if (value.includes("\u0000") || value.includes("\r") || value.includes("\n"))
      throw invalid("a secret's value cannot hold NUL, CR or LF (it may be sent in a header)");
    return this.store.putSecret(tenantId, name, this.cipher.seal(tenantId, name, value));
  }

  async delete(tenantId: string, name: string): Promise<void> {
    checkName(name);
    if (!(await this.store.deleteSecret(tenantId, name)))
      throw notFound(`no secret named ${name}`, { code: ErrorCodes.SAGA_SECRET_NOT_FOUND });
  }

  list(tenantId: string): Promise<SecretEntry[]> {
    return this.store.listSecrets(tenantId);
  }

  /** For `http` steps: the tenant's value, or undefined. */
  readonly source: TenantSecretSource = async (tenantId, name) => {
    if (!SECRET_NAME.test(name)) return undefined;
    const sealed = await this.store.getSecret(tenantId, name);
    return sealed === null ? undefined : this.cipher.open(tenantId, name, sealed);
  };
}

function checkName(name: string): void {
  if (!SECRET_NAME.test(name))
    throw invalid(
      `a secret's name is 1 to 128 letters, digits, "_" or "-", starting with a letter or "_" (got ${JSON.stringify(name.slice(0, 130))})`,
    );
}
