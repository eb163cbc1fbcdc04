import type { Json } from "../core/json.js";
import type { OutboxRow } from "../engine/store-port.js";
import { DELETE_OUTBOX, READ_OUTBOX, TRY_RELAY_LOCK } from "./sql/outbox.js";
import type { SqlClient } from "./sql-client.js";

/** The transactional outbox as the relay reads it (the OutboxSource port). */
export class SqlOutbox {
  constructor(private readonly sql: SqlClient) {}

  async relayOutbox(limit: number, send: (rows: OutboxRow[]) => Promise<void>): Promise<number> {
    return this.sql.transaction(async (tx) => {
      const [lock] = await tx.query<{ locked: boolean }>(TRY_RELAY_LOCK);
      if (!lock?.locked) return -1;
      const rows = await tx.query<{
        position: string | number;
        event_id: string;
        tenant_id: string;
        type: string;
        key: string | null;
        data: Json;
        headers: Record<string, string>;
        created_ms: number;
      }>(READ_OUTBOX, [limit]);
      if (rows.length === 0) return 0;
      await send(
        rows.map((r) => ({
          position: Number(r.position),
          eventId: r.event_id,
          tenantId: r.tenant_id,
          type: r.type,
          key: r.key,
          data: r.data,
          headers: r.headers,
          createdAt: Number(r.created_ms),
        })),
      );
      await tx.query(DELETE_OUTBOX, [JSON.stringify(rows.map((r) => Number(r.position)))]);
      return rows.length;
    });
  }
}
