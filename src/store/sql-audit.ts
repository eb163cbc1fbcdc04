import type { AuditEntry, AuditLog, AuditQuery, AuditRecord } from "../engine/audit-port.js";
import type { SqlClient } from "./sql-client.js";
import { DELETE_FINISHED_EVENTS, DELETE_OLD_AUDIT, INSERT_AUDIT, LIST_AUDIT } from "./sql/audit.js";

interface AuditRow {
  id: string;
  at: number;
  tenant_id: string;
  actor: string;
  role: string;
  via: string;
  address: string | null;
  user_agent: string | null;
  action: string;
  saga_id: string | null;
  target: string | null;
  status: number;
}

/** The audit trail in the saga database (table saga_audit, migration 0008). */
export class SqlAuditLog implements AuditLog {
  constructor(private readonly sql: SqlClient) {}

  async record(e: AuditEntry): Promise<void> {
    await this.sql.query(INSERT_AUDIT, [
      e.tenantId,
      e.actor,
      e.role,
      e.via,
      e.address,
      e.userAgent,
      e.action,
      e.sagaId,
      e.target,
      e.status,
    ]);
  }

  async list(q: AuditQuery): Promise<AuditRecord[]> {
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    const rows = await this.sql.query<AuditRow>(LIST_AUDIT, [
      q.tenantId,
      q.actor ?? null,
      q.action ?? null,
      q.sagaId ?? null,
      iso(q.from),
      iso(q.to),
      q.before ?? null,
      q.limit,
    ]);
    return rows.map((r) => ({
      id: r.id,
      at: Number(r.at),
      tenantId: r.tenant_id,
      actor: r.actor,
      role: r.role,
      via: r.via,
      address: r.address,
      userAgent: r.user_agent,
      action: r.action,
      sagaId: r.saga_id,
      target: r.target,
      status: r.status,
    }));
  }
}

/**
 * One retention pass: deletes, in batches, the events of sagas completed or compensated before
 * `cutoff` and audit rows older than it. Returns what it removed.
 */
export async function applyRetention(
  sql: SqlClient,
  cutoff: Date,
  batch = 500,
): Promise<{ events: number; audit: number }> {
  const removed = { events: 0, audit: 0 };
  for (;;) {
    const rows = await sql.query<{ n: number }>(
      `WITH gone AS (${DELETE_FINISHED_EVENTS} RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      [cutoff.toISOString(), batch],
    );
    const n = rows[0]?.n ?? 0;
    removed.events += n;
    if (n === 0) break;
  }
  for (;;) {
    const rows = await sql.query<{ n: number }>(
      `WITH gone AS (${DELETE_OLD_AUDIT} RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      [cutoff.toISOString(), batch],
    );
    const n = rows[0]?.n ?? 0;
    removed.audit += n;
    if (n < batch) break;
  }
  return removed;
}
