import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  KNOWN_UNEXPORTED,
  REPORT_PATH,
  ROOT,
  buildApiReport,
  entryPoints,
  type ApiReport,
} from "../../scripts/api-report.js";

describe("package.json exports", () => {
  const entries = entryPoints();

  it("offers the main entry point and the subpaths users need", () => {
    expect(entries.map((e) => e.specifier)).toEqual([
      "saga-orchestrator",
      "saga-orchestrator/bus",
      "saga-orchestrator/store",
      "saga-orchestrator/definitions",
      "saga-orchestrator/testing",
    ]);
  });

  it("lists `types` first, and both conditions point at the build output of one source file", () => {
    const build = JSON.parse(readFileSync(join(ROOT, "tsconfig.build.json"), "utf8")) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    // The source file of an entry is found by this mapping: it holds only while the build does it.
    expect(build.compilerOptions).toMatchObject({ rootDir: "src", outDir: "dist" });
    for (const entry of entries) {
      expect(entry.conditions, entry.specifier).toEqual(["types", "import"]);
      expect(entry.types.replace(/\.d\.ts$/, ".js"), entry.specifier).toBe(entry.import);
      expect(existsSync(join(ROOT, entry.source)), entry.source).toBe(true);
    }
  });
});

describe("the public API report (etc/public-api.md)", () => {
  let report: ApiReport;
  beforeAll(async () => {
    report = await buildApiReport();
  }, 60_000);

  it("matches the source: a change of the public surface is made on purpose", () => {
    const committed = existsSync(REPORT_PATH) ? readFileSync(REPORT_PATH, "utf8") : "";
    if (committed !== report.text) {
      expect.fail(
        "etc/public-api.md differs from the exports of the source. If the change of the public " +
          "API is intended, run `npm run api:report` and commit etc/public-api.md with it.",
      );
    }
  });

  it("names no type that users cannot import", () => {
    expect(
      report.unexported,
      "export these from an entry point (src/index.ts or src/entry/*.ts)",
    ).toEqual([]);
  });

  it("keeps its list of known exceptions up to date", () => {
    for (const known of Object.keys(KNOWN_UNEXPORTED)) {
      expect(report.text, `${known} is fixed: remove it from KNOWN_UNEXPORTED`).toContain(known);
    }
  });

  it("shows each export with its kind and signature", () => {
    expect(report.text).toContain("## `saga-orchestrator/bus`");
    expect(report.text).toMatch(/### SagaTrigger \(interface\)\n\n```ts\ninterface SagaTrigger \{/);
    expect(report.text).toMatch(
      /### createOrchestrator \(function\)\n\n```ts\nfunction createOrchestrator\(/,
    );
  });
});
