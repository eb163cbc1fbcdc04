import type { ErrorInfo } from "../core/errors.js";
import type { Json } from "../core/json.js";
import type { StoredSignal } from "../engine/store-port.js";
import { DELIVER_EVENTS, GET_SIGNALS } from "./sql/signals.js";
import type { SqlClient } from "./sql-client.js";

/** Deliveries to steps that wait (the SignalInbox port): domain events and ends of child sagas. */
export class SqlSignals {
  constructor(private readonly sql: SqlClient) {}

  async getSignals(sagaId: string): Promise<StoredSignal[]> {
    const rows = await this.sql.query<{
      id: string;
      step: string;
      payload: Json;
      error: ErrorInfo | null;
    }>(GET_SIGNALS, [sagaId]);
    return rows;
  }

  async deliverEvents(
    events: readonly { id: string; tenantId: string; type: string; body: Json }[],
  ): Promise<{ tenantId: string; sagaId: string }[]> {
    if (events.length === 0) return [];
    const rows = await this.sql.query<{ saga_id: string; tenant_id: string }>(DELIVER_EVENTS, [
      JSON.stringify(
        events.map((e, ord) => ({
          id: e.id,
          tenant_id: e.tenantId,
          type: e.type,
          body: e.body,
          ord,
        })),
      ),
    ]);
    return rows.map((r) => ({ tenantId: r.tenant_id, sagaId: r.saga_id }));
  }
}
