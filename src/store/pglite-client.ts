import { protocol, type PGlite } from "@electric-sql/pglite";
import { bindExecuteSync } from "./pglite-bind.js";
import type { SqlClient, SqlQuery } from "./sql-client.js";

const { serialize } = protocol;

interface Prepared {
  name: string;
  /** Type oids of the parameters, to serialise values as PGlite's `query` does. */
  paramTypes: number[];
  /** Columns of the result (empty for a statement that returns none). */
  columns: { name: string; type: number }[];
}

type Message = Awaited<ReturnType<PGlite["execProtocolStream"]>>[number];

/**
 * The SqlClient on one PGlite instance, which it owns: nothing else may query that instance.
 *
 * - Statements are prepared once: PGlite's `query` parses the text again on every call and sends
 *   it as six protocol messages, each its own trip into PostgreSQL; here each text becomes a named
 *   statement once, and a call is one Bind + Execute + Sync message (as `pg` does with named
 *   statements). PostgreSQL still plans every call (see START_PARAMS in pglite-open.ts).
 * - Calls run one at a time, and each first lets the event loop turn: PGlite runs in this thread
 *   and resolves through microtasks only, so without the turn a busy engine starves its own
 *   timers (lease heartbeats) and sockets (HTTP) for seconds.
 */
export class PgliteClient implements SqlClient {
  private readonly prepared = new Map<string, Prepared>();
  private statements = 0;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: PGlite) {}

  query<Row>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    return this.exclusive(() => this.run<Row>(text, params, true));
  }

  async exec(script: string): Promise<void> {
    await this.exclusive(() => this.script(script, true));
  }

  transaction<T>(fn: (tx: SqlQuery) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      await this.script("BEGIN", false);
      let result: T;
      try {
        result = await fn({
          query: <Row>(text: string, params: readonly unknown[] = []) =>
            this.run<Row>(text, params, false),
          exec: async (script: string) => {
            await this.script(script, false);
          },
        });
      } catch (error) {
        // The error of `fn` is the one to report; a ROLLBACK can fail only on a closed database.
        await this.script("ROLLBACK", true).catch(() => undefined);
        throw error;
      }
      // COMMIT of a transaction in which a statement failed (and `fn` caught it) rolls back.
      if ((await this.script("COMMIT", true)) === "ROLLBACK")
        throw new Error("the transaction was rolled back: a statement in it failed");
      return result;
    });
  }

  async close(): Promise<void> {
    await this.exclusive(() => this.db.close());
  }

  /** Runs `fn` after every call made before it, once the event loop has had a turn. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(turnEventLoop).then(() => {
      if (!this.db.ready) throw new Error("the PGlite database is closed");
      return fn();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async run<Row>(text: string, params: readonly unknown[], sync: boolean): Promise<Row[]> {
    const statement = this.prepared.get(text) ?? (await this.prepare(text));
    const values = params.map((value, i) => this.serialise(value, statement.paramTypes[i]));
    const messages = await this.db.execProtocolStream(bindExecuteSync(statement.name, values), {
      syncToFs: sync,
    });
    return this.rows<Row>(messages, statement.columns);
  }

  private async prepare(text: string): Promise<Prepared> {
    const name = `s${++this.statements}`;
    const messages = await this.db.execProtocolStream(
      concat([
        serialize.parse({ name, text }),
        serialize.describe({ type: "S", name }),
        serialize.sync(),
      ]),
      { syncToFs: false },
    );
    let paramTypes: number[] = [];
    let columns: Prepared["columns"] = [];
    for (const m of messages) {
      if (m instanceof protocol.messages.ParameterDescriptionMessage) paramTypes = m.dataTypeIDs;
      if (m instanceof protocol.messages.RowDescriptionMessage)
        columns = m.fields.map((f) => ({ name: f.name, type: f.dataTypeID }));
    }
    const statement = { name, paramTypes, columns };
    this.prepared.set(text, statement);
    return statement;
  }

  /** Runs statements without parameters (simple protocol); returns the last command tag. */
  private async script(script: string, sync: boolean): Promise<string | undefined> {
    const messages = await this.db.execProtocolStream(serialize.query(script), { syncToFs: sync });
    let tag: string | undefined;
    for (const m of messages)
      if (m instanceof protocol.messages.CommandCompleteMessage) tag = m.text;
    return tag;
  }

  private serialise(value: unknown, type: number | undefined): string | null {
    if (value === null || value === undefined) return null;
    const serialiser = type === undefined ? undefined : this.db.serializers[type];
    if (serialiser) return serialiser(value);
    // A type PGlite has no serialiser for (uuid, numeric, …): the string as is, or its JSON text.
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  private rows<Row>(messages: Message[], columns: Prepared["columns"]): Row[] {
    const rows: Row[] = [];
    for (const m of messages) {
      if (!(m instanceof protocol.messages.DataRowMessage)) continue;
      const row: Record<string, unknown> = {};
      for (let i = 0; i < columns.length; i++) {
        const column = columns[i]!;
        const field = m.fields[i] ?? null;
        const parser = this.db.parsers[column.type];
        row[column.name] = field === null || !parser ? field : parser(field, column.type);
      }
      rows.push(row as Row);
    }
    return rows;
  }
}

function turnEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
