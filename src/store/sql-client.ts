/** What the SQL store needs from a driver: `pg`'s Pool and PGlite both fit behind it. */
export interface SqlClient {
  query<Row>(text: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
  /** Runs `fn` in one transaction on one connection. */
  transaction<T>(fn: (tx: SqlQuery) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type SqlQuery = Pick<SqlClient, "query" | "exec">;

/**
 * A statement whose text starts with this is planned for its values on every call (an unnamed
 * statement), not prepared once per connection: for statements whose best plan depends on which
 * filters are set (the saga list). PGlite plans every call for its values anyway.
 */
export const PLAN_PER_CALL = "/* plan per call */";
