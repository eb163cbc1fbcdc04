/**
 * Writes the tables of docs/errors.md from the error registry (src/core/error-registry.ts), one
 * table per group between `<!-- errors:<group>:start -->` and `<!-- errors:<group>:end -->`; the
 * prose around them is kept as written. `npm run docs:errors`; `--check` exits 1 when the page is
 * stale instead of writing it (test/unit/error-registry.test.ts does the same check).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { ErrorRegistry, type ErrorGroup, type ErrorSpec } from "../src/core/error-registry.js";

export const ERRORS_DOC = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "docs",
  "errors.md",
);

const MARKER = /<!-- errors:([a-z-]+):start -->[\s\S]*?<!-- errors:\1:end -->/g;

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function table(group: ErrorGroup): string {
  const rows = Object.entries(ErrorRegistry)
    .filter(([, spec]) => spec.group === group)
    .map(([code, spec]: [string, ErrorSpec]) =>
      [
        `\`${code}\``,
        spec.status === undefined ? "—" : String(spec.status),
        spec.retryable ? "yes" : "no",
        cell(spec.meaning),
        cell(spec.fix),
      ].join(" | "),
    );
  return [
    "| Code | HTTP | Retryable | Meaning | How to fix |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((row) => `| ${row} |`),
  ].join("\n");
}

/**
 * The page with every group's table regenerated. Throws when a group of the registry has no
 * place in the page, or the page has a place for a group the registry lacks.
 */
export async function renderErrorsDoc(page: string): Promise<string> {
  const groups = new Set(Object.values(ErrorRegistry).map((spec) => spec.group));
  const placed = new Set<string>();
  const text = page.replace(MARKER, (_, group: string) => {
    if (!groups.has(group as ErrorGroup))
      throw new Error(`docs/errors.md has a table for group ${group}, which has no codes`);
    placed.add(group);
    return `<!-- errors:${group}:start -->\n\n${table(group as ErrorGroup)}\n\n<!-- errors:${group}:end -->`;
  });
  const missing = [...groups].filter((group) => !placed.has(group));
  if (missing.length > 0)
    throw new Error(
      `docs/errors.md has no <!-- errors:GROUP:start/end --> for ${missing.join(", ")}`,
    );
  const options = (await resolveConfig(ERRORS_DOC)) ?? {};
  return format(text, { ...options, parser: "markdown" });
}

async function main(args: string[]): Promise<number> {
  const page = readFileSync(ERRORS_DOC, "utf8");
  const fresh = await renderErrorsDoc(page);
  if (args.includes("--check")) {
    if (fresh === page) return 0;
    process.stderr.write("docs/errors.md is stale: run npm run docs:errors\n");
    return 1;
  }
  if (fresh !== page) writeFileSync(ERRORS_DOC, fresh);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `gen-errors-doc: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
