import type { BusMessage } from "./bus-port.js";

/** One dead-lettered bus message as operators see it (one tenant's). */
export interface DeadLetterView {
  /** The dead letter's own id (its entry id on the dead-letter stream). */
  id: string;
  /** The message as published; null when it could not be decoded (then `raw` has its fields). */
  message: BusMessage | null;
  raw?: Record<string, string>;
  /** The consumer group that gave up on it, the member that moved it, deliveries made. */
  group: string;
  consumer: string;
  deliveries: number;
  /** The handler's last error, or why the entry could not be decoded. */
  error: string;
  /** Epoch milliseconds when it was moved. */
  deadAt: number;
}

/**
 * Dead letters of the bus, for operators: list, inspect, re-drive (publish again, then remove)
 * and purge. Every call is scoped to one tenant: another tenant's letters are "not found".
 */
export interface DeadLetterAdmin {
  /** Oldest first, after the cursor `after`; `next` continues (null at the end). */
  list(
    tenantId: string,
    options: { after?: string; limit: number },
  ): Promise<{ items: DeadLetterView[]; next: string | null }>;
  get(tenantId: string, id: string): Promise<DeadLetterView | null>;
  /**
   * Publishes the messages again (every consumer group sees them again: consumers are idempotent
   * by message id) and removes them from the dead letters. Undecodable ones are not re-driven.
   */
  redrive(
    tenantId: string,
    ids: readonly string[],
  ): Promise<{ redriven: string[]; skipped: string[] }>;
  /** Removes the given dead letters, or all of the tenant's; returns how many were removed. */
  purge(tenantId: string, ids: readonly string[] | "all"): Promise<number>;
}

/**
 * The tenant a dead letter belongs to: its message's, or for an undecodable entry its raw `tenant`
 * field (or `tenantId`, the camelCase name producers sometimes send by mistake).
 */
export function tenantOf(letter: Pick<DeadLetterView, "message" | "raw">): string | null {
  return letter.message?.tenantId ?? letter.raw?.tenant ?? letter.raw?.tenantId ?? null;
}
