/** One audited action: who, from where, what, on which saga or definition, and the answer. */
export interface AuditEntry {
  tenantId: string;
  /** The principal: `key:<fingerprint>`, `jwt:<subject>` or `anonymous`. */
  actor: string;
  role: string;
  /** How the principal authenticated (api-key, jwt, anonymous). */
  via: string;
  address: string | null;
  userAgent: string | null;
  /** e.g. saga.start, saga.cancel, saga.retry, definition.register, dead_letter.redrive. */
  action: string;
  sagaId: string | null;
  /** What else it touched: a definition name, a secret name, dead-letter ids. */
  target: string | null;
  /** The HTTP status of the answer. */
  status: number;
}

export interface AuditRecord extends AuditEntry {
  id: string;
  /** Epoch milliseconds. */
  at: number;
}

export interface AuditQuery {
  tenantId: string;
  actor?: string;
  action?: string;
  sagaId?: string;
  /** Epoch milliseconds, inclusive from, exclusive to. */
  from?: number;
  to?: number;
  limit: number;
  /** The id of the last row of the previous page (rows come newest first). */
  before?: string;
}

/** The audit trail's store: a small port of its own beside the saga Store. */
export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  list(query: AuditQuery): Promise<AuditRecord[]>;
}
