/**
 * `npm run chaos [-- --profile full|scaled|smoke] [--seed N] [--minutes M] [--redis aof|none|both]`
 * Runs the chaos harness (chaos/lib/harness.ts) and writes chaos/results/<date>-<commit>.{md,json}.
 * A seed replays the same fault schedule and workload (the interleavings depend on timing).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultConfig, runChaos, type ChaosConfig, type ChaosResult } from "./lib/harness.js";
import { renderMarkdown } from "./lib/report.js";

/**
 * Profiles. `full` is the target on a 2-core machine (≈55 min): a 30-minute soak with
 * Redis without persistence, then 22 minutes with Redis AOF; together ≥1,000 kills, ≥100
 * PostgreSQL and ≥100 Redis restarts and ≥500 SIGSTOPs (a SIGSTOP episode, 1.5–2.5 × the lease,
 * does not hold its lane: up to every worker may be paused at once).
 */
type Profile = Partial<ChaosConfig> & { faultMsByRedis?: Partial<Record<"none" | "aof", number>> };
const PROFILES: Record<string, Profile> = {
  smoke: {
    faultMs: 45_000,
    faultEveryMs: { kill: 1_500, pg: 12_000, pgTerminate: 6_000, redis: 10_000, sigstop: 5_000 },
  },
  scaled: {
    faultMs: 7 * 60_000,
    faultEveryMs: { kill: 1_200, pg: 8_000, pgTerminate: 5_000, redis: 8_000, sigstop: 2_500 },
  },
  full: {
    faultMs: 27 * 60_000,
    faultMsByRedis: { none: 30 * 60_000, aof: 22 * 60_000 },
    faultEveryMs: { kill: 1_400, pg: 15_000, pgTerminate: 6_000, redis: 15_000, sigstop: 4_000 },
  },
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const profile = arg("profile") ?? "scaled";
  const { faultMsByRedis, ...base } = PROFILES[profile] ?? {};
  if (!PROFILES[profile]) throw new Error(`unknown profile ${profile} (smoke, scaled, full)`);
  const seed =
    arg("seed") !== undefined ? Number(arg("seed")) : Math.floor(Math.random() * 2 ** 31);
  if (!Number.isInteger(seed)) throw new Error("--seed must be an integer");
  const minutes = arg("minutes");
  const modes =
    (arg("redis") ?? "both") === "both"
      ? (["none", "aof"] as const)
      : ([arg("redis")] as ("none" | "aof")[]);
  const out = arg("out") ?? fileURLToPath(new URL("./results/", import.meta.url));
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim();
  const dirty =
    execFileSync("git", ["status", "--porcelain", "--", "src", "chaos"]).toString().trim() !== "";

  const results: ChaosResult[] = [];
  const loadBefore = loadavg();
  for (const [i, redis] of modes.entries()) {
    const config = defaultConfig({
      ...base,
      seed: seed + i,
      redis,
      ...(faultMsByRedis?.[redis] !== undefined ? { faultMs: faultMsByRedis[redis] } : {}),
      ...(minutes ? { faultMs: Math.round((Number(minutes) * 60_000) / modes.length) } : {}),
      log: (line) => console.log(`[chaos ${redis}] ${line}`),
    });
    const only = arg("faults");
    if (only !== undefined) {
      const keep = new Set(only.split(",").filter(Boolean));
      for (const kind of Object.keys(config.faultEveryMs) as (keyof typeof config.faultEveryMs)[])
        if (!keep.has(kind)) delete config.faultEveryMs[kind];
      if (!keep.has("targeted"))
        config.targetedKill = { afterAck: 0, duringCreate: 0, inCompensation: 0 };
    }
    if (arg("skew") === "off") config.skewsMs = [0];
    console.log(`[chaos] profile ${profile}, redis ${redis}, seed ${config.seed}`);
    results.push(await runChaos(config));
  }
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "?",
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadavgBefore: loadBefore.map((l) => Math.round(l * 10) / 10),
    loadavgAfter: loadavg().map((l) => Math.round(l * 10) / 10),
  };
  const report = { date: new Date().toISOString(), commit, dirty, profile, seed, machine, results };
  mkdirSync(out, { recursive: true });
  const stem = `${report.date.slice(0, 10)}-${commit}-${profile}`;
  writeFileSync(
    join(out, `${stem}.json`),
    `${JSON.stringify(report, (_k, v: unknown) => (typeof v === "function" ? undefined : v), 2)}\n`,
  );
  writeFileSync(join(out, `${stem}.md`), renderMarkdown(report));
  console.log(`[chaos] wrote ${join(out, stem)}.{md,json}`);
  const bad = results.some(
    (r) =>
      r.figures.acknowledgedStartsLost > 0 ||
      r.figures.terminalOutcomesDuplicated > 0 ||
      r.figures.completedStepsCompensatedOtherThanOnce > 0 ||
      r.figures.compensationsOutOfReverseOrder > 0 ||
      r.figures.staleOutcomesAccepted > 0 ||
      r.figures.storedStateNotReplay > 0 ||
      r.figures.wrongOutcomes > 0 ||
      r.figures.stuck > 0,
  );
  if (bad) {
    console.error("[chaos] a figure that must be 0 is not: see the report");
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(2);
});
