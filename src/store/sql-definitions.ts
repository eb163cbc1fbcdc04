import type { Json } from "../core/json.js";
import type { StoredDefinition } from "../engine/store-port.js";
import { LIST_DEFINITIONS, SAVE_DEFINITION } from "./sql/definitions.js";
import type { SqlClient } from "./sql-client.js";

/** Saga definitions registered as data, per tenant (the DefinitionStore port). */
export class SqlDefinitions {
  constructor(private readonly sql: SqlClient) {}

  async saveDefinition(def: StoredDefinition): Promise<{ created: boolean; document: Json }> {
    const [row] = await this.sql.query<{ document: Json; created: boolean }>(SAVE_DEFINITION, [
      def.tenantId,
      def.name,
      def.version,
      JSON.stringify(def.document),
    ]);
    if (!row)
      throw new Error(`definition ${def.name} v${def.version} was neither stored nor found`);
    return row;
  }

  async listDefinitions(tenantId: string | null): Promise<StoredDefinition[]> {
    const rows = await this.sql.query<{
      tenant_id: string;
      name: string;
      version: number;
      document: Json;
      created_ms: number;
    }>(LIST_DEFINITIONS, [tenantId]);
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      name: r.name,
      version: Number(r.version),
      document: r.document,
      createdAt: Number(r.created_ms),
    }));
  }
}
