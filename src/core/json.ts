import { Limits } from "./limits.js";

/** A value that survives `JSON.stringify` -> `JSON.parse` unchanged. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Bounds on a JSON value taken from outside. */
export interface JsonBounds {
  /** Deepest nesting (an object or array is one level). Default `Limits.JSON_MAX_DEPTH` (64). */
  maxDepth?: number;
  /**
   * Largest serialised size in UTF-8 bytes, counted as the value is walked (escapes in strings
   * are not counted). Default: no bound.
   */
  maxBytes?: number;
}

/**
 * Why a value was refused: `not_json` (function, bigint, cycle, class instance…), `bad_number`
 * (NaN, ±Infinity — also what `JSON.parse` makes of `1e400`), `bad_string` (a NUL character or a
 * lone surrogate, which PostgreSQL cannot store), `too_deep`, `too_large`.
 */
export type JsonProblemKind = "not_json" | "bad_number" | "bad_string" | "too_deep" | "too_large";

export type JsonCheck =
  | { ok: true; value: Json; bytes: number }
  | { ok: false; path: string; problem: string; kind: JsonProblemKind };

/**
 * Converts a value into a JSON value within bounds, or says exactly where it is not one.
 * `undefined` at the top becomes `null`; objects with `toJSON` (e.g. `Date`) are converted
 * the way `JSON.stringify` would. Functions, symbols, bigints, non-finite numbers, cycles,
 * class instances without `toJSON`, strings with a NUL or a lone surrogate, nesting deeper than
 * `maxDepth` and values larger than `maxBytes` are refused instead of being silently changed.
 * The walk never goes deeper than `maxDepth` (+1) frames, whatever the input.
 */
export function toJson(value: unknown, bounds: JsonBounds = {}): JsonCheck {
  const maxDepth = bounds.maxDepth ?? Limits.JSON_MAX_DEPTH;
  const maxBytes = bounds.maxBytes ?? Infinity;
  const seen = new Set<object>();
  // The path is built only on failure: `keys` holds the keys from the root to the value visited.
  const keys: (string | number)[] = [];
  let bytes = 0;
  let failure: { path: string; problem: string; kind: JsonProblemKind } | undefined;
  const fail = (problem: string, kind: JsonProblemKind = "not_json"): undefined => {
    failure ??= {
      path: keys.reduce<string>(
        (p, k) => (typeof k === "number" ? `${p}[${k}]` : `${p}.${k}`),
        "$",
      ),
      problem,
      kind,
    };
    return undefined;
  };
  const count = (n: number): boolean => {
    bytes += n;
    if (bytes <= maxBytes) return true;
    fail(`larger than ${maxBytes} bytes`, "too_large");
    return false;
  };
  const text = (s: string): boolean => {
    const problem = stringProblem(s);
    if (problem !== null) {
      fail(problem, "bad_string");
      return false;
    }
    return count(utf8Length(s) + 2);
  };

  const visit = (v: unknown, depth: number): Json | undefined => {
    if (failure) return undefined;
    if (v === null) return count(4) ? null : undefined;
    switch (typeof v) {
      case "string":
        return text(v) ? v : undefined;
      case "boolean":
        return count(v ? 4 : 5) ? v : undefined;
      case "number":
        if (!Number.isFinite(v)) return fail(`non-finite number ${String(v)}`, "bad_number");
        return count(String(v).length) ? v : undefined;
      case "undefined":
        return fail("undefined");
      case "bigint":
      case "symbol":
      case "function":
        return fail(typeof v);
    }
    const obj = v;
    if (depth >= maxDepth) return fail(`nested deeper than ${maxDepth} levels`, "too_deep");
    if (typeof (obj as { toJSON?: unknown }).toJSON === "function") {
      // A toJSON result counts as one level, so that a chain of them cannot recurse unbounded.
      return visit((obj as { toJSON: () => unknown }).toJSON(), depth + 1);
    }
    if (seen.has(obj)) return fail("circular reference");
    seen.add(obj);
    try {
      if (Array.isArray(obj)) {
        const out: Json[] = new Array<Json>(obj.length);
        if (!count(2 + Math.max(0, obj.length - 1))) return undefined;
        for (let i = 0; i < obj.length; i++) {
          keys.push(i);
          out[i] = visit(obj[i], depth + 1) ?? null;
          keys.pop();
          if (failure) return undefined;
        }
        return out;
      }
      const proto = Object.getPrototypeOf(obj) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        const ctor = (obj as { constructor?: { name?: string } }).constructor?.name ?? "unknown";
        return fail(`instance of ${ctor}`);
      }
      const out: JsonObject = {};
      if (!count(2)) return undefined;
      let first = true;
      for (const key of Object.keys(obj)) {
        const item = (obj as Record<string, unknown>)[key];
        if (item === undefined) continue; // JSON.stringify drops undefined properties too
        keys.push(key);
        const keyOk = text(key) && count(first ? 1 : 2); // the colon, and the comma before
        first = false;
        const converted = keyOk ? visit(item, depth + 1) : undefined;
        keys.pop();
        if (failure) return undefined;
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

  if (value === undefined) return { ok: true, value: null, bytes: 4 };
  const converted = visit(value, 0);
  if (failure) return { ok: false, ...failure };
  return { ok: true, value: converted ?? null, bytes };
}

/**
 * Parses JSON text from outside and checks it against the bounds (see `toJson`). `JSON.parse`
 * itself does not recurse on the stack in V8, so any nesting is parsed and then refused here.
 */
export function parseJson(text: string, bounds: JsonBounds = {}): JsonCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      path: "$",
      // JSON.parse throws SyntaxError; errors.ts imports this module, so no errorMessage here.
      problem: `not JSON (${error instanceof Error ? error.message : String(error)})`,
      kind: "not_json",
    };
  }
  return toJson(parsed, bounds);
}

/** Why a string cannot be stored (a NUL character, a lone surrogate), or null. Linear time. */
export function stringProblem(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return `string with a NUL character at offset ${i}`;
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else return `string with a lone surrogate at offset ${i}`;
    }
  }
  return null;
}

/**
 * The string with NUL characters and lone surrogates replaced by U+FFFD: for text from outside
 * that is kept only to show (an error body), never to act on.
 */
export function storableText(s: string): string {
  if (stringProblem(s) === null) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += s[i]! + s[i + 1]!;
      i++;
    } else out += c === 0 || (c >= 0xd800 && c <= 0xdfff) ? "\ufffd" : s[i]!;
  }
  return out;
}

/** UTF-8 length of a string (lone surrogates count 3, as the encoder's replacement does). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n += 2; // 4 bytes for the pair of 2 code units
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}
