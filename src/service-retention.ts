import { Counter, type Registry } from "prom-client";
import { ensureError } from "./core/errors.js";
import type { Logger } from "./engine/logger.js";
import { applyRetention } from "./store/sql-audit.js";
import type { SqlClient } from "./store/sql-client.js";

export interface Retention {
  /** One pass now: what it removed. */
  runOnce(): Promise<{ events: number; audit: number }>;
  stop(): void;
}

/**
 * SAGA_RETENTION_DAYS: every `everyMs` (and once at start), deletes in batches the events of
 * sagas completed or compensated more than `days` ago and audit rows as old; counted in
 * `saga_retention_removed_total{kind}`. Every process may run it: the deletes are idempotent.
 */
export function startRetention(options: {
  sql: SqlClient;
  days: number;
  registry: Registry;
  logger: Logger;
  everyMs?: number;
  now?: () => number;
}): Retention {
  const removed = new Counter({
    name: "saga_retention_removed_total",
    help: "Rows deleted by the SAGA_RETENTION_DAYS cleanup, by kind (events, audit).",
    labelNames: ["kind"],
    registers: [options.registry],
  });
  removed.inc({ kind: "events" }, 0);
  removed.inc({ kind: "audit" }, 0);
  const now = options.now ?? Date.now;
  let running: Promise<{ events: number; audit: number }> | null = null;
  const runOnce = () =>
    (running ??= (async () => {
      try {
        const cutoff = new Date(now() - options.days * 86_400_000);
        const result = await applyRetention(options.sql, cutoff);
        removed.inc({ kind: "events" }, result.events);
        removed.inc({ kind: "audit" }, result.audit);
        if (result.events + result.audit > 0)
          options.logger.info({ ...result, days: options.days }, "retention cleanup");
        return result;
      } finally {
        running = null;
      }
    })());
  const tick = () => {
    runOnce().catch((error: unknown) =>
      options.logger.warn(
        { err: ensureError(error) },
        "retention cleanup failed; next pass retries",
      ),
    );
  };
  const timer = setInterval(tick, options.everyMs ?? 3_600_000);
  timer.unref();
  tick();
  return { runOnce, stop: () => clearInterval(timer) };
}
