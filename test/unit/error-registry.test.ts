import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ERRORS_DOC, renderErrorsDoc } from "../../scripts/gen-errors-doc.js";
import { HttpError } from "../../src/api/http-errors.js";
import { busError, isBusError } from "../../src/bus/bus-errors.js";
import { CliError } from "../../src/cli/client.js";
import { ConfigError, KNOWN_SETTINGS } from "../../src/config/config.js";
import { EnvFileError, FILE_VARIABLES } from "../../src/config/env-file.js";
import { SEED_VARIABLES } from "../../src/config/seed-env.js";
import {
  ErrorCodes,
  ErrorRegistry,
  SagaError,
  isErrorCode,
  type ErrorCode,
} from "../../src/core/errors.js";
import { PartialBatchFailure } from "../../src/engine/bus-port.js";

const root = resolve(import.meta.dirname, "..", "..");
const REGISTRY_FILE = "src/core/error-registry.ts";
/** The downstream simulator stands in for another team's service: its codes are its own. */
const OWN_CODES = "src/testing/";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [relative(root, path)] : [];
  });
}

const sources = sourceFiles(join(root, "src")).map((file) => ({
  file,
  ast: ts.createSourceFile(
    file,
    readFileSync(join(root, file), "utf8"),
    ts.ScriptTarget.Latest,
    true,
  ),
}));

function visit(node: ts.Node, each: (node: ts.Node) => void): void {
  each(node);
  node.forEachChild((child) => visit(child, each));
}

const where = (ast: ts.SourceFile, node: ts.Node) =>
  `${ast.fileName}:${ast.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;

/** Environment variables the configuration reads; they may be spelt `SAGA_…` in src/. */
const settings = new Set<string>([...KNOWN_SETTINGS, ...SEED_VARIABLES, ...FILE_VARIABLES]);

const CODE_SHAPED = /^[A-Z][A-Z0-9_]*[A-Z0-9]$/;
/** Calls whose code argument must come from `ErrorCodes`. */
const CODE_TAKERS = /(Error|^errorBody|^errorInfo|^busError|^jsonProblemCode|^problem)$/;

function calleeName(node: ts.CallExpression | ts.NewExpression): string {
  const callee = node.expression;
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return "";
}

const isText = (node: ts.Node): node is ts.StringLiteral | ts.NoSubstitutionTemplateLiteral =>
  ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node);

describe("the error registry", () => {
  it("is keyed by the code itself, and ErrorCodes names every code by value", () => {
    const codes = Object.keys(ErrorRegistry);
    expect(Object.keys(ErrorCodes)).toEqual(codes);
    for (const code of codes) {
      expect(ErrorCodes[code as ErrorCode]).toBe(code);
      expect(code).toMatch(CODE_SHAPED);
    }
  });

  it("states for every code whether it is retryable, a meaning and a fix", () => {
    for (const [code, spec] of Object.entries(ErrorRegistry)) {
      expect(typeof spec.retryable, code).toBe("boolean");
      expect(spec.meaning.length, code).toBeGreaterThan(10);
      expect(spec.fix.length, code).toBeGreaterThan(3);
      if ("status" in spec) expect(spec.status, code).toBeGreaterThanOrEqual(400);
    }
  });

  it("says a code is not retryable when the API answers it 4xx, except for rate limits", () => {
    for (const [code, spec] of Object.entries(ErrorRegistry)) {
      if (!("status" in spec) || spec.status >= 500) continue;
      expect(spec.retryable, code).toBe(spec.status === 429);
    }
  });

  it("docs/errors.md is generated from it (run npm run docs:errors when this fails)", async () => {
    const page = readFileSync(ERRORS_DOC, "utf8");
    expect(await renderErrorsDoc(page)).toBe(page);
    for (const code of Object.keys(ErrorRegistry)) expect(page).toContain(`\`${code}\``);
  });

  it("docs/errors.md names no SAGA_ code that the registry lacks", () => {
    const page = readFileSync(ERRORS_DOC, "utf8");
    const named = [...page.matchAll(/`(SAGA_[A-Z0-9_]+)`/g)].map((m) => m[1]!);
    const unknown = named.filter((name) => !isErrorCode(name) && !settings.has(name));
    expect(unknown).toEqual([]);
  });
});

describe("codes in src/", () => {
  it("no SAGA_ string outside the registry except the names of settings", () => {
    const found: string[] = [];
    for (const { file, ast } of sources) {
      if (file === REGISTRY_FILE) continue;
      visit(ast, (node) => {
        const text = isText(node)
          ? node.text
          : ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)
            ? node.text
            : null;
        if (text === null) return;
        for (const [word] of text.matchAll(/\bSAGA_[A-Z0-9_]*/g)) {
          if (word === "SAGA_") continue; // the settings' prefix
          if (!settings.has(word)) found.push(`${where(ast, node)} ${word}`);
        }
      });
    }
    expect(found).toEqual([]);
  });

  it("a code handed to an error, a code property or an error body comes from ErrorCodes", () => {
    const found: string[] = [];
    for (const { file, ast } of sources) {
      if (file === REGISTRY_FILE || file.startsWith(OWN_CODES)) continue;
      visit(ast, (node) => {
        const literalCode = (arg: ts.Node | undefined): boolean =>
          arg !== undefined &&
          ((isText(arg) && CODE_SHAPED.test(arg.text)) ||
            (ts.isConditionalExpression(arg) && [arg.whenTrue, arg.whenFalse].some(literalCode)) ||
            ((ts.isParenthesizedExpression(arg) || ts.isAsExpression(arg)) &&
              literalCode(arg.expression)));
        if (
          (ts.isCallExpression(node) || ts.isNewExpression(node)) &&
          CODE_TAKERS.test(calleeName(node))
        ) {
          for (const arg of node.arguments ?? [])
            if (literalCode(arg)) found.push(`${where(ast, arg)} ${arg.getText()}`);
        }
        if (
          (ts.isPropertyAssignment(node) || ts.isPropertyDeclaration(node)) &&
          node.name.getText() === "code" &&
          literalCode(node.initializer)
        )
          found.push(`${where(ast, node)} ${node.getText()}`);
      });
    }
    expect(found).toEqual([]);
  });

  it("every ErrorCodes.<CODE> used in src/ and test/ is in the registry", () => {
    const files = [...sourceFiles(join(root, "src")), ...sourceFiles(join(root, "test"))];
    const missing: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(root, file), "utf8");
      for (const m of text.matchAll(/\bErrorCodes\.([A-Za-z0-9_]+)/g))
        if (!isErrorCode(m[1]!)) missing.push(`${file}: ${m[1]!}`);
    }
    expect(missing).toEqual([]);
  });

  it("has no `as Error` casts (use errorMessage / ensureError)", () => {
    const found = sources
      .filter(({ ast }) => /\bas Error\b/.test(ast.text.replace(/\/\/.*|\/\*[\s\S]*?\*\//g, "")))
      .map(({ file }) => file);
    expect(found).toEqual([]);
  });
});

describe("every error class is a SagaError", () => {
  it("keeps its name, message, code and what callers read from it", () => {
    const http = new HttpError(429, ErrorCodes.START_RATE_LIMITED, "slow down", { limit: 1 });
    expect(http).toBeInstanceOf(SagaError);
    expect(http).toMatchObject({
      name: "HttpError",
      statusCode: 429,
      code: "START_RATE_LIMITED",
      message: "slow down",
      details: { limit: 1 },
      retryable: true,
    });

    for (const error of [new ConfigError("PORT must be a port"), new EnvFileError(".env line 1")]) {
      expect(error).toBeInstanceOf(SagaError);
      expect(error).toMatchObject({ code: ErrorCodes.SAGA_INVALID_CONFIG, retryable: false });
    }
    expect(new ConfigError("PORT must be a port")).toMatchObject({
      name: "ConfigError",
      message: "PORT must be a port",
    });
    expect(new EnvFileError(".env line 1").name).toBe("EnvFileError");

    const usage = new CliError("unknown command", 2);
    expect(usage).toBeInstanceOf(SagaError);
    expect(usage).toMatchObject({
      name: "CliError",
      exitCode: 2,
      code: ErrorCodes.SAGA_CLI_USAGE,
      message: "unknown command",
    });
    expect(new CliError("cannot reach the service")).toMatchObject({
      exitCode: 1,
      code: ErrorCodes.SAGA_CLI_REQUEST_FAILED,
    });

    const partial = new PartialBatchFailure(new Map([["m-1", new Error("refused")]]));
    expect(partial).toBeInstanceOf(SagaError);
    expect(partial).toMatchObject({
      name: "PartialBatchFailure",
      code: ErrorCodes.SAGA_BUS_PARTIAL_BATCH,
      message: "1 message(s) of the batch failed: m-1: refused",
    });

    const bus = busError(ErrorCodes.SAGA_BUS_UNAVAILABLE, "redis down");
    expect(bus).toMatchObject({ code: "SAGA_BUS_UNAVAILABLE", retryable: true });
    expect(isBusError(bus)).toBe(true);
    expect(busError(ErrorCodes.SAGA_BUS_CLOSED, "closed").retryable).toBe(false);
    expect(isBusError(new SagaError(ErrorCodes.SAGA_NOT_FOUND, "no"))).toBe(false);
  });
});
