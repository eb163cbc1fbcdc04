import { pathToFileURL } from "node:url";
import { join } from "node:path";
import type * as Api from "../../src/index.js";
import type * as ConfigModule from "../../src/config/config.js";
import type * as ServiceModule from "../../src/service.js";

/**
 * Our engine as it ships: the driver compiles src/ with tsc (as `npm run build` does) into
 * BENCH_OURS_DIR, and the children load that plain JavaScript — not src/ through tsx, whose
 * on-the-fly transform adds helpers (`__name`) and strips line structure, which the peers (plain
 * JS from node_modules) do not pay. Without BENCH_OURS_DIR, src/ is loaded through tsx.
 */
const dir = process.env.BENCH_OURS_DIR;

async function load<T>(compiled: string, fallback: () => Promise<unknown>): Promise<T> {
  return (dir ? await import(pathToFileURL(join(dir, compiled)).href) : await fallback()) as T;
}

export const loadOurs = () => load<typeof Api>("index.js", () => import("../../src/index.js"));

export const loadService = () =>
  load<typeof ServiceModule>("service.js", () => import("../../src/service.js"));

export const loadConfigModule = () =>
  load<typeof ConfigModule>("config/config.js", () => import("../../src/config/config.js"));

/** Where ours was loaded from, for the report. */
export function oursSource(): string {
  return dir ? `compiled with tsc into ${dir}` : "src/ through tsx";
}
