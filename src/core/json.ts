/** A value that survives `JSON.stringify` -> `JSON.parse` unchanged. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * Converts a step's return value into a JSON value, or says exactly where it is not one.
 * `undefined` at the top becomes `null`; objects with `toJSON` (e.g. `Date`) are converted
 * the way `JSON.stringify` would. Functions, symbols, bigints, non-finite numbers, cycles and
 * class instances without `toJSON` are refused instead of being silently dropped.
 */
export function toJson(
  value: unknown,
): { ok: true; value: Json } | { ok: false; path: string; problem: string } {
  const seen = new Set<object>();
  let failure: { path: string; problem: string } | undefined;

  const visit = (v: unknown, path: string): Json | undefined => {
    if (failure) return undefined;
    if (v === null) return null;
    switch (typeof v) {
      case "string":
      case "boolean":
        return v;
      case "number":
        if (!Number.isFinite(v)) failure = { path, problem: `non-finite number ${String(v)}` };
        return v;
      case "undefined":
        failure = { path, problem: "undefined" };
        return undefined;
      case "bigint":
      case "symbol":
      case "function":
        failure = { path, problem: typeof v };
        return undefined;
    }
    const obj = v;
    if (typeof (obj as { toJSON?: unknown }).toJSON === "function") {
      return visit((obj as { toJSON: () => unknown }).toJSON(), path);
    }
    if (seen.has(obj)) {
      failure = { path, problem: "circular reference" };
      return undefined;
    }
    seen.add(obj);
    try {
      if (Array.isArray(obj)) return obj.map((item, i) => visit(item, `${path}[${i}]`) ?? null);
      const proto = Object.getPrototypeOf(obj) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        const ctor = (obj as { constructor?: { name?: string } }).constructor?.name ?? "unknown";
        failure = { path, problem: `instance of ${ctor}` };
        return undefined;
      }
      const out: JsonObject = {};
      for (const [key, item] of Object.entries(obj)) {
        if (item === undefined) continue; // JSON.stringify drops undefined properties too
        const converted = visit(item, `${path}.${key}`);
        // defineProperty: a "__proto__" key stays an own property instead of replacing the prototype.
        if (converted !== undefined) {
          Object.defineProperty(out, key, {
            value: converted,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
      }
      return out;
    } finally {
      seen.delete(obj);
    }
  };

  if (value === undefined) return { ok: true, value: null };
  const converted = visit(value, "$");
  if (failure) return { ok: false, ...failure };
  return { ok: true, value: converted ?? null };
}
