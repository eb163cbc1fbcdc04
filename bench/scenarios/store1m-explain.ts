import pg from "pg";
import { PLAN_PER_CALL } from "../../src/store/sql-client.js";
import { LIST_SAGAS } from "../../src/store/sql/list-sagas.js";
import { listSagasParams } from "./store1m-shapes.js";

export interface ShapePlan {
  /** A fresh plan for these values (what an unnamed statement gets). */
  custom: { nodes: string; ms: number; plan: string };
  /**
   * When the service prepares the statement (a named statement, planned once per connection):
   * its plan once the same connection has run every shape 6 times (PostgreSQL may then keep one
   * generic plan for all of them). Null when the statement is planned per call (PLAN_PER_CALL).
   */
  pooled: { nodes: string; ms: number; plan: string; generic: boolean } | null;
}

/** EXPLAIN (ANALYZE, BUFFERS) of LIST_SAGAS for each (tenant, query string). */
export async function explainShapes(
  url: string,
  shapes: { tenant: string; query: string }[],
): Promise<ShapePlan[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const custom: ShapePlan["custom"][] = [];
    for (const s of shapes) {
      const rows = await client.query<{ "QUERY PLAN": string }>(
        `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${LIST_SAGAS}`,
        listSagasParams(s.tenant, s.query),
      );
      custom.push(summarize(rows.rows.map((r) => r["QUERY PLAN"])));
    }
    if (LIST_SAGAS.startsWith(PLAN_PER_CALL))
      return custom.map((c) => ({ custom: c, pooled: null }));
    const literal = (v: string | number | string[] | null) =>
      v === null
        ? "NULL"
        : typeof v === "number"
          ? String(v)
          : client.escapeLiteral(
              Array.isArray(v) ? `{${v.map((x) => JSON.stringify(x)).join(",")}}` : v,
            );
    const literals = shapes.map((s) => listSagasParams(s.tenant, s.query).map(literal).join(", "));
    await client.query(`PREPARE store1m_list AS ${LIST_SAGAS}`);
    for (let round = 0; round < 6; round++)
      for (const l of literals) await client.query(`EXECUTE store1m_list(${l})`);
    const pooled: ShapePlan["pooled"][] = [];
    for (const l of literals) {
      const rows = await client.query<{ "QUERY PLAN": string }>(
        `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE store1m_list(${l})`,
      );
      const lines = rows.rows.map((r) => r["QUERY PLAN"]);
      pooled.push({ ...summarize(lines), generic: lines.some((x) => /\$\d/.test(x)) });
    }
    return custom.map((c, i) => ({ custom: c, pooled: pooled[i]! }));
  } finally {
    await client.end();
  }
}

/** The plan's first three nodes (Limit, what feeds it, ...) and its execution time. */
function summarize(lines: string[]): { nodes: string; ms: number; plan: string } {
  const nodes = lines
    .filter((l, i) => i === 0 || /^\s*->/.test(l))
    .map((l) =>
      l
        .replace(/^\s*->\s*/, "")
        .replace(/\s+\(actual.*$/, "")
        .replace(/ on saga_instances i$/, ""),
    )
    .slice(0, 3);
  const ms = Number(/Execution Time: ([\d.]+) ms/.exec(lines.join("\n"))?.[1] ?? NaN);
  return { nodes: nodes.join(" › "), ms, plan: lines.join("\n") };
}
