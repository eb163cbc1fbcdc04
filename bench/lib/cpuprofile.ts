import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  where: string;
  selfMs: number;
  /** Share of the non-idle samples. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  top: SelfTime[];
  byModule: { module: string; selfMs: number; share: number }[];
}

const SPECIAL = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

/** Where a frame lives: a package, our src/ layer, the bench, node internals. */
function moduleOf(url: string, name: string): string {
  if (SPECIAL.has(name)) return name;
  // The compiled build holds src/ (ours) and bench/ (the harness) side by side.
  const built = /\/saga-bench-build\/src\/([^/]+)\//.exec(url);
  if (built) return `ours: src/${built[1]}`;
  if (url.includes("/saga-bench-build/src/")) return "ours: src";
  if (url.includes("/saga-bench-build/bench/")) return "bench harness";
  if (url.includes("/node_modules/")) {
    const rest = url.split("/node_modules/").pop()!;
    const parts = rest.split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const src = /\/src\/([^/]+)\//.exec(url);
  if (src) return `ours: src/${src[1]}`;
  if (url.includes("/src/")) return "ours: src";
  if (url.includes("/bench/")) return "bench harness";
  if (url.startsWith("node:")) return "node internals";
  if (url.startsWith("wasm://")) return "WebAssembly (PGlite's PostgreSQL)";
  return url === "" ? "(native / V8)" : "other";
}

function shortUrl(url: string): string {
  const b = url.indexOf("/saga-bench-build/");
  if (b >= 0) return url.slice(b + 18);
  const i = url.indexOf("/node_modules/");
  if (i >= 0) return url.slice(i + 14);
  const j = url.search(/\/(src|bench)\//);
  return j >= 0 ? url.slice(j + 1) : url.replace(/^file:\/\//, "");
}

/** Self time per function (by name and location) and per module of a V8 .cpuprofile. */
export function summariseProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample: attribute it to sample i.
  profile.samples.forEach((id, i) =>
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );
  const fns = new Map<string, SelfTime>();
  const modules = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || "(anonymous)";
    total += us;
    if (name === "(idle)") {
      idle += us;
      continue;
    }
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : "";
    const key = `${name}@${where}`;
    const entry = fns.get(key) ?? { name, where, selfMs: 0, share: 0 };
    entry.selfMs += us / 1000;
    fns.set(key, entry);
    const mod = moduleOf(url, name);
    modules.set(mod, (modules.get(mod) ?? 0) + us / 1000);
  }
  const busyMs = (total - idle) / 1000;
  const list = [...fns.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const f of list) f.share = f.selfMs / busyMs;
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    top: list,
    byModule: [...modules.entries()]
      .map(([module, selfMs]) => ({ module, selfMs, share: selfMs / busyMs }))
      .sort((a, b) => b.selfMs - a.selfMs),
  };
}
