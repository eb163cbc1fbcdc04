import type { SecretEntry, SecretStore } from "../engine/secret-store-port.js";
import type { SqlClient } from "./sql-client.js";
import { DELETE_SECRET, GET_SECRET, LIST_SECRETS, PUT_SECRET } from "./sql/secrets.js";

/** Tenant secrets in the saga database (table saga_tenant_secrets, migration 0007). */
export class SqlSecretStore implements SecretStore {
  constructor(private readonly sql: SqlClient) {}

  async putSecret(tenantId: string, name: string, sealed: string): Promise<{ created: boolean }> {
    const [row] = await this.sql.query<{ created: boolean }>(PUT_SECRET, [tenantId, name, sealed]);
    return { created: row?.created === true };
  }

  async deleteSecret(tenantId: string, name: string): Promise<boolean> {
    return (await this.sql.query(DELETE_SECRET, [tenantId, name])).length > 0;
  }

  async listSecrets(tenantId: string): Promise<SecretEntry[]> {
    const rows = await this.sql.query<{ name: string; updated_ms: number }>(LIST_SECRETS, [
      tenantId,
    ]);
    return rows.map((r) => ({ name: r.name, updatedAt: Number(r.updated_ms) }));
  }

  async getSecret(tenantId: string, name: string): Promise<string | null> {
    const [row] = await this.sql.query<{ sealed: string }>(GET_SECRET, [tenantId, name]);
    return row?.sealed ?? null;
  }
}
