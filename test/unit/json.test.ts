import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseJson, storableText, stringProblem, toJson } from "../../src/core/json.js";

/** The result without the size and kind fields (checked on their own below). */
function shape(result: ReturnType<typeof toJson>) {
  if (result.ok) return { ok: true, value: result.value };
  return { ok: false, path: result.path, problem: result.problem };
}

class Money {
  constructor(readonly cents: number) {}
}

describe("toJson: accepts JSON", () => {
  it.each<[string, unknown]>([
    ["null", null],
    ["a string", "héllo"],
    ["true", true],
    ["zero", 0],
    ["a float", -12.5],
    ["an empty object", {}],
    ["an empty array", []],
    ["nested values", { a: [1, "two", { three: [null, false] }], b: { c: { d: "e" } } }],
  ])("%s, unchanged", (_, value) => {
    expect(shape(toJson(value))).toStrictEqual({ ok: true, value });
  });

  it("any JSON value, unchanged (property)", () => {
    fc.assert(
      fc.property(
        // "__proto__" keys are covered by their own test below.
        fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"')),
        (value) => {
          expect(shape(toJson(value))).toStrictEqual({ ok: true, value });
        },
      ),
      { numRuns: 500 },
    );
  });

  it("undefined at the top becomes null", () => {
    expect(shape(toJson(undefined))).toStrictEqual({ ok: true, value: null });
  });

  it("drops undefined properties, like JSON.stringify", () => {
    const result = toJson({ a: 1, gone: undefined, nested: { also: undefined, kept: "k" } });
    expect(shape(result)).toStrictEqual({ ok: true, value: { a: 1, nested: { kept: "k" } } });
    expect(result.ok && Object.keys(result.value as object)).toEqual(["a", "nested"]);
  });

  it("converts values with toJSON (Date) the way JSON.stringify does", () => {
    const at = new Date("2024-05-06T07:08:09.010Z");
    expect(shape(toJson({ at, list: [at] }))).toStrictEqual({
      ok: true,
      value: { at: "2024-05-06T07:08:09.010Z", list: ["2024-05-06T07:08:09.010Z"] },
    });
    expect(shape(toJson(at))).toStrictEqual({ ok: true, value: "2024-05-06T07:08:09.010Z" });
    const custom = { toJSON: () => ({ id: 7, tags: ["x"] }) };
    expect(shape(toJson({ custom }))).toStrictEqual({
      ok: true,
      value: { custom: { id: 7, tags: ["x"] } },
    });
  });

  it("accepts null-prototype objects and the same object reached twice (not a cycle)", () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { k: 1 });
    expect(shape(toJson({ bare }))).toStrictEqual({ ok: true, value: { bare: { k: 1 } } });
    const shared = { n: 1 };
    expect(shape(toJson({ a: shared, b: [shared, shared] }))).toStrictEqual({
      ok: true,
      value: { a: { n: 1 }, b: [{ n: 1 }, { n: 1 }] },
    });
  });

  it("ignores symbol keys, like JSON.stringify", () => {
    expect(shape(toJson({ [Symbol("hidden")]: 1, shown: 2 }))).toStrictEqual({
      ok: true,
      value: { shown: 2 },
    });
  });

  it('keeps an own "__proto__" key of parsed JSON as data', () => {
    // KNOWN BUG (src/core/json.ts toJson): `out[key] = converted` with key "__proto__" sets the
    // output's prototype instead of an own property, so the key is silently lost (and the result
    // is no longer a plain object). JSON.parse of untrusted input can produce such a key.
    const parsed = JSON.parse('{"__proto__":{"admin":true},"a":1}') as unknown;
    const result = toJson(parsed);
    expect(result.ok).toBe(true);
    expect(JSON.stringify(result.ok && result.value)).toBe(JSON.stringify(parsed));
  });
});

describe("toJson: refuses what is not JSON, with the exact path", () => {
  const cycle: Record<string, unknown> = { name: "loop" };
  cycle.self = { back: cycle };
  const cyclicArray: unknown[] = [1];
  cyclicArray.push(cyclicArray);

  it.each<[string, unknown, string, string | RegExp]>([
    ["a function", { a: { fn: () => 1 } }, "$.a.fn", "function"],
    ["a bigint", { amount: 10n }, "$.amount", "bigint"],
    ["a symbol", [1, Symbol("s")], "$[1]", "symbol"],
    ["NaN", { ratio: Number.NaN }, "$.ratio", "non-finite number NaN"],
    ["Infinity", { list: [1, Infinity] }, "$.list[1]", "non-finite number Infinity"],
    ["-Infinity", -Infinity, "$", "non-finite number -Infinity"],
    ["a cycle through an object", cycle, "$.self.back", "circular reference"],
    ["a cycle through an array", cyclicArray, "$[1]", "circular reference"],
    ["a class instance", { items: [new Money(5)] }, "$.items[0]", "instance of Money"],
    ["a Map", { m: new Map([["k", 1]]) }, "$.m", "instance of Map"],
    ["an Error", { e: new Error("x") }, "$.e", "instance of Error"],
    ["undefined inside an array", { xs: [1, undefined] }, "$.xs[1]", "undefined"],
    ["a function at the top", () => 1, "$", "function"],
    ["a toJSON returning a function", { t: { toJSON: () => () => 1 } }, "$.t", "function"],
  ])("%s", (_, value, path, problem) => {
    const result = toJson(value);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.path).toBe(path);
    expect(result.problem).toMatch(problem);
  });

  it("reports the first problem in visiting order", () => {
    expect(shape(toJson({ a: 1, b: [2, 3n], c: () => 0 }))).toStrictEqual({
      ok: false,
      path: "$.b[1]",
      problem: "bigint",
    });
  });

  it("refuses any JSON value with a bigint planted at a random place (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 5 }), fc.nat(), (xs, i) => {
        const at = i % (xs.length + 1);
        const value = [...xs.slice(0, at), 1n, ...xs.slice(at)];
        expect(shape(toJson(value))).toStrictEqual({
          ok: false,
          path: `$[${at}]`,
          problem: "bigint",
        });
      }),
      { numRuns: 200 },
    );
  });
});

describe("toJson / parseJson: bounds on untrusted JSON", () => {
  const nested = (depth: number): string => "[".repeat(depth) + "1" + "]".repeat(depth);

  it("accepts 64 levels of nesting and refuses 65, with kind too_deep", () => {
    expect(parseJson(nested(64)).ok).toBe(true);
    const deep = parseJson(nested(65));
    expect(deep).toMatchObject({ ok: false, kind: "too_deep" });
    expect(!deep.ok && deep.problem).toBe("nested deeper than 64 levels");
  });

  it("refuses 100,000 levels of nesting without overflowing the stack", () => {
    expect(parseJson(nested(100_000))).toMatchObject({ ok: false, kind: "too_deep" });
    let v: unknown = 1;
    for (let i = 0; i < 100_000; i++) v = { a: v };
    expect(toJson(v)).toMatchObject({ ok: false, kind: "too_deep" });
  });

  it("bounds a chain of toJSON calls like nesting", () => {
    const chain = (n: number): unknown => (n === 0 ? 1 : { toJSON: () => chain(n - 1) });
    expect(toJson(chain(100))).toMatchObject({ ok: false, kind: "too_deep" });
  });

  it.each<[string, unknown]>([
    ["a NUL in a value", { a: "x\u0000y" }],
    ["a NUL in a key", { ["k\u0000"]: 1 }],
    ["a lone high surrogate", ["\ud800"]],
    ["a lone low surrogate at the start", "\udc00abc"],
    ["a high surrogate followed by a non-surrogate", "\ud83dx"],
  ])("refuses %s (kind bad_string)", (_, value) => {
    expect(toJson(value)).toMatchObject({ ok: false, kind: "bad_string" });
  });

  it("accepts surrogate pairs (emoji) and counts their UTF-8 bytes", () => {
    const check = toJson({ e: "😀é" });
    expect(check).toMatchObject({ ok: true, value: { e: "😀é" } });
    expect(check.ok && check.bytes).toBe(Buffer.byteLength(JSON.stringify({ e: "😀é" })));
  });

  it("counts the serialised size exactly for values without escapes", () => {
    const value = { a: [1, 2.5, null, true, false, "ü"], b: { c: {}, d: [] }, e: -3e-7 };
    const check = toJson(value);
    expect(check.ok && check.bytes).toBe(Buffer.byteLength(JSON.stringify(value)));
  });

  it("refuses a value larger than maxBytes (kind too_large) and a huge number (bad_number)", () => {
    expect(toJson({ s: "x".repeat(2000) }, { maxBytes: 1000 })).toMatchObject({
      ok: false,
      kind: "too_large",
    });
    expect(toJson({ s: "x".repeat(900) }, { maxBytes: 1000 }).ok).toBe(true);
    expect(parseJson('{"n": 1e400}')).toMatchObject({ ok: false, kind: "bad_number", path: "$.n" });
  });

  it("stringProblem and storableText: NUL and lone surrogates found and replaced", () => {
    expect(stringProblem("ok 😀")).toBeNull();
    expect(stringProblem("a\u0000")).toMatch(/NUL/);
    expect(storableText("a\u0000b\ud800c😀")).toBe("a\ufffdb\ufffdc😀");
  });
});
