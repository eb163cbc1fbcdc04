import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Under node_modules, so that tsx leaves it untouched and its imports resolve as usual. */
const BUILD_ROOT = `${ROOT}node_modules/.cache/saga-bench-build`;
/** Ours, compiled. */
export const OURS_BUILD_DIR = `${BUILD_ROOT}/src`;
/** The bench's child, compiled with it: children run plain JavaScript, with no tsx loader. */
export const CHILD_BUILD_FILE = `${BUILD_ROOT}/bench/child.js`;

/**
 * Compiles src/ as `npm run build` does (same compiler options, migrations copied beside the
 * store) together with bench/ (bench/tsconfig.json), into BUILD_ROOT: every child then runs
 * plain JavaScript — the engines, and the harness around them, with no tsx loader thread in
 * their memory or CPU. Returns what the report should say about it.
 */
export function buildOurs(): { ok: boolean; seconds: number; note: string } {
  const began = performance.now();
  rmSync(BUILD_ROOT, { recursive: true, force: true });
  mkdirSync(BUILD_ROOT, { recursive: true });
  const tsc = spawnSync(
    process.execPath,
    [
      `${ROOT}node_modules/typescript/bin/tsc`,
      "-p",
      `${ROOT}bench/tsconfig.json`,
      "--outDir",
      BUILD_ROOT,
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  cpSync(`${ROOT}src/store/migrations/`, `${OURS_BUILD_DIR}/store/migrations/`, {
    recursive: true,
  });
  writeFileSync(`${BUILD_ROOT}/package.json`, JSON.stringify({ type: "module" }));
  const seconds = (performance.now() - began) / 1000;
  const errors = (tsc.stdout ?? "").split("\n").filter((l) => l.includes("error TS"));
  return {
    ok: tsc.status === 0,
    seconds,
    note:
      tsc.status === 0
        ? `ours: src/ compiled with tsc in ${seconds.toFixed(1)} s (with bench/, so that every child runs plain JavaScript without a tsx loader) and loaded as \`npm run build\` ships it`
        : `ours: tsc reported ${errors.length} type errors in the working tree (it still emitted JavaScript, which was benchmarked): ${errors.slice(0, 3).join(" | ")}`,
  };
}
