/**
 * Re-renders a results file's Markdown from its JSON (same measurements, e.g. after a change to
 * the report's layout): `npx tsx bench/render.ts bench/results/<date>-<commit>.json`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { renderReport, type Report } from "./lib/report.js";

const file = process.argv[2];
if (!file?.endsWith(".json")) {
  console.error("usage: tsx bench/render.ts bench/results/<date>-<commit>.json");
  process.exit(2);
}
const report = JSON.parse(readFileSync(file, "utf8")) as Report;
writeFileSync(file.replace(/\.json$/, ".md"), renderReport(report));
console.log(`wrote ${file.replace(/\.json$/, ".md")}`);
