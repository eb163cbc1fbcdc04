import { describe, expect, it } from "vitest";
import {
  ensureError,
  ErrorCodes,
  ErrorRegistry,
  errorInfo,
  errorMessage,
  invalidInput,
  invalidState,
  notFound,
  SagaError,
  TerminalError,
  toErrorInfo,
} from "../../src/core/errors.js";

describe("SagaError and TerminalError", () => {
  it("a SagaError carries a code, a cause, and is retryable unless told otherwise", () => {
    const cause = new Error("socket hang up");
    const error = new SagaError(ErrorCodes.SAGA_STORE_ERROR, "store failed", { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: "SagaError",
      code: "SAGA_STORE_ERROR",
      message: "store failed",
      retryable: true,
      details: undefined,
    });
    expect(error.cause).toBe(cause);
    expect(new SagaError("X", "m").cause).toBeUndefined();
    expect(new SagaError("X", "m", { retryable: false }).retryable).toBe(false);
  });

  it("a TerminalError is never retryable, with STEP_FAILED or its own code", () => {
    const plain = new TerminalError("card declined");
    expect(plain).toBeInstanceOf(SagaError);
    expect(plain).toMatchObject({
      name: "TerminalError",
      code: ErrorCodes.SAGA_STEP_FAILED,
      retryable: false,
    });
    const coded = new TerminalError("card declined", { code: "CARD_DECLINED", details: { x: 1 } });
    expect(coded).toMatchObject({ code: "CARD_DECLINED", retryable: false, details: { x: 1 } });
  });

  it("every code outside the HTTP API's own is namespaced SAGA_", () => {
    for (const [code, spec] of Object.entries(ErrorRegistry))
      if (spec.group !== "api") expect(code).toMatch(/^SAGA_[A-Z0-9_]+$/);
  });

  it("a SagaError takes the registry's retryable for its code unless told otherwise", () => {
    expect(new SagaError(ErrorCodes.SAGA_NOT_FOUND, "no saga s-1").retryable).toBe(false);
    expect(new SagaError(ErrorCodes.SAGA_HTTP_5XX, "503").retryable).toBe(true);
    expect(new SagaError(ErrorCodes.SAGA_HTTP_4XX, "409", { retryable: true }).retryable).toBe(
      true,
    );
  });
});

describe("ensureError", () => {
  it("returns an Error as it is", () => {
    const error = new TypeError("bad");
    expect(ensureError(error)).toBe(error);
  });

  it.each<[string, unknown, string]>([
    ["a string", "out of stock", "a non-Error value was thrown: out of stock"],
    [
      "an object",
      { status: 503, body: "busy" },
      'a non-Error value was thrown: {"status":503,"body":"busy"}',
    ],
    ["undefined", undefined, "a non-Error value was thrown: undefined"],
    ["null", null, "a non-Error value was thrown: null"],
    ["a number", 42, "a non-Error value was thrown: 42"],
    ["a bigint (JSON.stringify throws)", 7n, "a non-Error value was thrown: 7"],
  ])("wraps %s in a SagaError NON_ERROR_THROWN keeping it as the cause", (_, thrown, message) => {
    const error = ensureError(thrown);
    expect(error).toBeInstanceOf(SagaError);
    expect(error.message).toBe(message);
    expect(error).toMatchObject({ code: ErrorCodes.SAGA_NON_ERROR_THROWN, retryable: true });
    if (thrown !== undefined) expect(error.cause).toBe(thrown);
  });

  it("wraps a cyclic object without throwing", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const error = ensureError(cyclic);
    expect(error.message).toBe("a non-Error value was thrown: [object Object]");
    expect(error.cause).toBe(cyclic);
  });
});

describe("toErrorInfo", () => {
  it("an Error: its name and message, the fallback code, retryable", () => {
    expect(toErrorInfo(new RangeError("too far"))).toStrictEqual({
      name: "RangeError",
      code: ErrorCodes.SAGA_STEP_FAILED,
      message: "too far",
      retryable: true,
    });
    expect(toErrorInfo(new Error("slow"), ErrorCodes.SAGA_STEP_TIMEOUT).code).toBe(
      "SAGA_STEP_TIMEOUT",
    );
  });

  it("a TerminalError is not retryable and keeps its code and details", () => {
    expect(
      toErrorInfo(
        new TerminalError("declined", { code: "CARD_DECLINED", details: { last4: "4242" } }),
      ),
    ).toStrictEqual({
      name: "TerminalError",
      code: "CARD_DECLINED",
      message: "declined",
      retryable: false,
      details: { last4: "4242" },
    });
  });

  it("respects `retryable: false` and a string `code` on a plain error", () => {
    const error = Object.assign(new Error("insufficient funds"), {
      code: "NO_FUNDS",
      retryable: false,
      details: { ignored: true },
    });
    expect(toErrorInfo(error)).toStrictEqual({
      name: "Error",
      code: "NO_FUNDS",
      message: "insufficient funds",
      retryable: false,
    });
  });

  it("ignores a non-string code and any retryable other than false", () => {
    const errno = Object.assign(new Error("ECONNRESET"), { code: 104, retryable: "no" });
    expect(toErrorInfo(errno)).toMatchObject({
      code: ErrorCodes.SAGA_STEP_FAILED,
      retryable: true,
    });
  });

  it.each<[string, unknown]>([
    ["a string", "nope"],
    ["an object", { reason: "nope" }],
    ["undefined", undefined],
  ])("normalises %s thrown into a retryable NON_ERROR_THROWN info", (_, thrown) => {
    const info = toErrorInfo(thrown);
    expect(info).toMatchObject({
      name: "SagaError",
      code: ErrorCodes.SAGA_NON_ERROR_THROWN,
      retryable: true,
    });
    expect(info.message).toMatch(/^a non-Error value was thrown: /);
    expect(JSON.parse(JSON.stringify(info))).toStrictEqual(info);
  });

  it("errorInfo builds the stored form directly", () => {
    expect(errorInfo(ErrorCodes.SAGA_CANCELLED, "cancelled", false)).toStrictEqual({
      name: "SagaError",
      code: "SAGA_CANCELLED",
      message: "cancelled",
      retryable: false,
    });
  });
});

describe("notFound, invalidState, invalidInput", () => {
  it("raise non-retryable errors with the default code, or a more precise one", () => {
    const missing = notFound("no saga s-1");
    expect(missing).toBeInstanceOf(SagaError);
    expect(missing).toMatchObject({
      code: ErrorCodes.SAGA_NOT_FOUND,
      message: "no saga s-1",
      retryable: false,
    });
    expect(notFound("no secret", { code: ErrorCodes.SAGA_SECRET_NOT_FOUND }).code).toBe(
      "SAGA_SECRET_NOT_FOUND",
    );
    expect(invalidState("saga s-1 is completed")).toMatchObject({
      code: ErrorCodes.SAGA_INVALID_STATE,
      retryable: false,
    });
    const cause = new Error("parse");
    const bad = invalidInput("too long", {
      code: ErrorCodes.SAGA_DURATION_TOO_LONG,
      details: ["timeoutMs"],
      cause,
    });
    expect(bad).toMatchObject({
      code: ErrorCodes.SAGA_DURATION_TOO_LONG,
      retryable: false,
      details: ["timeoutMs"],
    });
    expect(bad.cause).toBe(cause);
    expect(invalidInput("no").code).toBe(ErrorCodes.SAGA_INVALID_INPUT);
  });
});

describe("errorMessage", () => {
  it.each<[string, unknown, string]>([
    ["an Error", new TypeError("bad"), "bad"],
    ["a string", "out of stock", "out of stock"],
    ["an object", { status: 503 }, '{"status":503}'],
    ["undefined", undefined, "undefined"],
    ["a bigint", 7n, "7"],
  ])("shows %s", (_, thrown, shown) => {
    expect(errorMessage(thrown)).toBe(shown);
  });
});
