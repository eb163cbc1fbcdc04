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
  // The path is built only on failure: `keys` holds the keys from the root to the value visited.
  const keys: (string | number)[] = [];
  let failure: { path: string; problem: string } | undefined;
  const fail = (problem: string): undefined => {
    failure ??= {
      path: keys.reduce<string>(
        (p, k) => (typeof k === "number" ? `${p}[${k}]` : `${p}.${k}`),
        "$",
      ),
      problem,
    };
    return undefined;
  };

  const visit = (v: unknown): Json | undefined => {
    if (failure) return undefined;
    if (v === null) return null;
    switch (typeof v) {
      case "string":
      case "boolean":
        return v;
      case "number":
        return Number.isFinite(v) ? v : fail(`non-finite number ${String(v)}`);
      case "undefined":
        return fail("undefined");
      case "bigint":
      case "symbol":
      case "function":
        return fail(typeof v);
    }
    const obj = v;
    if (typeof (obj as { toJSON?: unknown }).toJSON === "function") {
      return visit((obj as { toJSON: () => unknown }).toJSON());
    }
    if (seen.has(obj)) return fail("circular reference");
    seen.add(obj);
    try {
      if (Array.isArray(obj)) {
        const out: Json[] = new Array<Json>(obj.length);
        for (let i = 0; i < obj.length; i++) {
          keys.push(i);
          out[i] = visit(obj[i]) ?? null;
          keys.pop();
        }
        return out;
      }
      const proto = Object.getPrototypeOf(obj) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        const ctor = (obj as { constructor?: { name?: string } }).constructor?.name ?? "unknown";
        return fail(`instance of ${ctor}`);
      }
      const out: JsonObject = {};
      for (const key of Object.keys(obj)) {
        const item = (obj as Record<string, unknown>)[key];
        if (item === undefined) continue; // JSON.stringify drops undefined properties too
        keys.push(key);
        const converted = visit(item);
        keys.pop();
        if (converted === undefined) continue;
        if (key === "__proto__") {
          // defineProperty: a "__proto__" key stays an own property instead of replacing the prototype.
          Object.defineProperty(out, key, {
            value: converted,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else {
          out[key] = converted;
        }
      }
      return out;
    } finally {
      seen.delete(obj);
    }
  };

  if (value === undefined) return { ok: true, value: null };
  const converted = visit(value);
  if (failure) return { ok: false, ...failure };
  return { ok: true, value: converted ?? null };
}
