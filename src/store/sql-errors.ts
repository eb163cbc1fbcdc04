/**
 * SQLSTATE classes of a statement refused for the data it carries (22 data exception, e.g. a
 * `\u0000` in JSONB; 23 integrity constraint; 54 program limit, e.g. a value too large), as
 * opposed to the database being unavailable. PostgreSQL (`pg`) and PGlite both set `code`.
 */
const DATA_CLASSES = new Set(["22", "23", "54"]);

/** True when the database refused a statement because of a value in it. */
export function isDataError(error: unknown): boolean {
  if (typeof error !== "object" || error === null || !("code" in error)) return false;
  const code = error.code;
  return typeof code === "string" && code.length === 5 && DATA_CLASSES.has(code.slice(0, 2));
}
