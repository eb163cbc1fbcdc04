import pg from "pg";
import type { StatementStat } from "./types.js";

type QueryFn = (...args: unknown[]) => unknown;

export interface PgCounter {
  /** Queries sent by every pg client of this process since `install`. */
  readonly count: () => number;
  readonly statements: () => StatementStat[];
}

/**
 * Counts the round trips of every `pg` client in this process (each `Client#query` call is one
 * request/response exchange with the server: a simple query, or parse/bind/execute/sync), and
 * keeps per-statement client-side timings. `onQuery` sees each statement text and its values.
 */
export function installPgCounter(
  onQuery?: (text: string, values: readonly unknown[] | undefined) => void,
): PgCounter {
  const proto = pg.Client.prototype as unknown as { query: QueryFn };
  const original = proto.query;
  let count = 0;
  const stats = new Map<string, StatementStat>();
  // Statement text -> its stat, so that the text is normalised once, not at every call.
  const byText = new Map<string, StatementStat>();
  proto.query = function (this: unknown, ...args: unknown[]): unknown {
    count++;
    const first = args[0];
    const text =
      typeof first === "string"
        ? first
        : typeof first === "object" && first !== null && "text" in first
          ? String(first.text)
          : "(submittable)";
    const values = (
      Array.isArray(args[1])
        ? args[1]
        : typeof first === "object" && first !== null && "values" in first
          ? (first as { values?: unknown[] }).values
          : undefined
    ) as readonly unknown[] | undefined;
    onQuery?.(text, values);
    let stat = byText.get(text);
    if (!stat) {
      const key = text.replace(/\s+/g, " ").trim().slice(0, 90);
      stat = stats.get(key) ?? { text: key, calls: 0, totalMs: 0, rows: 0 };
      stats.set(key, stat);
      byText.set(text, stat);
    }
    stat.calls++;
    const began = performance.now();
    const last = args[args.length - 1];
    if (typeof last === "function") {
      // Callback form (what pg-pool's `pool.query` uses): time it through the callback.
      const callback = last as (err: unknown, r?: { rowCount?: number | null }) => void;
      args[args.length - 1] = (err: unknown, r?: { rowCount?: number | null }) => {
        stat.totalMs += performance.now() - began;
        stat.rows += r?.rowCount ?? 0;
        callback(err, r);
      };
    }
    const result = original.apply(this, args);
    if (result instanceof Promise) {
      result.then(
        (r: { rowCount?: number | null }) => {
          stat.totalMs += performance.now() - began;
          stat.rows += r?.rowCount ?? 0;
        },
        () => (stat.totalMs += performance.now() - began),
      );
    }
    return result;
  };
  return {
    count: () => count,
    statements: () => [...stats.values()].sort((a, b) => b.totalMs - a.totalMs),
  };
}
