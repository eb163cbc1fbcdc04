import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Under node_modules, so that tsx leaves it untouched and its imports resolve as usual. */
export const OURS_BUILD_DIR = `${ROOT}node_modules/.cache/saga-bench-build`;

/**
 * Compiles src/ as `npm run build` does (tsc -p tsconfig.build.json, migrations copied beside
 * the store), into OURS_BUILD_DIR. Returns what the report should say about it.
 */
export function buildOurs(): { ok: boolean; seconds: number; note: string } {
  const began = performance.now();
  rmSync(OURS_BUILD_DIR, { recursive: true, force: true });
  mkdirSync(OURS_BUILD_DIR, { recursive: true });
  const tsc = spawnSync(
    process.execPath,
    [
      `${ROOT}node_modules/typescript/bin/tsc`,
      "-p",
      `${ROOT}tsconfig.build.json`,
      "--outDir",
      OURS_BUILD_DIR,
      "--declaration",
      "false",
      "--sourceMap",
      "false",
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  cpSync(`${ROOT}src/store/migrations/`, `${OURS_BUILD_DIR}/store/migrations/`, {
    recursive: true,
  });
  writeFileSync(`${OURS_BUILD_DIR}/package.json`, JSON.stringify({ type: "module" }));
  const seconds = (performance.now() - began) / 1000;
  const errors = (tsc.stdout ?? "").split("\n").filter((l) => l.includes("error TS"));
  return {
    ok: tsc.status === 0,
    seconds,
    note:
      tsc.status === 0
        ? `ours: src/ compiled with tsc (tsconfig.build.json) in ${seconds.toFixed(1)} s and loaded as plain JavaScript, as \`npm run build\` ships it`
        : `ours: tsc reported ${errors.length} type errors in the working tree (it still emitted JavaScript, which was benchmarked): ${errors.slice(0, 3).join(" | ")}`,
  };
}
