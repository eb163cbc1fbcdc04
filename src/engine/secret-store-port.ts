/**
 * The SecretStore port: a tenant's secrets, by name. Values are opaque to the store (sealed by
 * the caller when an encryption key is configured); no read of the service's API returns them.
 */
export interface SecretStore {
  /** Writes (creates or replaces) a tenant's secret; `created` is false when it replaced one. */
  putSecret(tenantId: string, name: string, sealed: string): Promise<{ created: boolean }>;
  /** Deletes a tenant's secret; false when there was none. */
  deleteSecret(tenantId: string, name: string): Promise<boolean>;
  /** The names of a tenant's secrets (never their values), by name. */
  listSecrets(tenantId: string): Promise<SecretEntry[]>;
  /** The sealed value, for dispatch only; null when the tenant has no such secret. */
  getSecret(tenantId: string, name: string): Promise<string | null>;
}

export interface SecretEntry {
  name: string;
  /** Milliseconds since the epoch (database clock). */
  updatedAt: number;
}
