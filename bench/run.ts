/**
 * The benchmark driver (`npm run bench`): runs every engine in its own child process against the
 * local PostgreSQL, and writes bench/results/<date>-<commit>.md (+ .json). Never part of
 * `npm test`. Needs PostgreSQL on 127.0.0.1:5432 (BENCH_PG_URL to change) with a user that may
 * create databases; Restate needs `unshare` (its server is kept in a loopback-only namespace).
 *
 * BENCH_SECONDS (10) measured seconds per point · BENCH_WARMUP (3) · BENCH_REPS (2) ·
 * BENCH_CONCURRENCY (1,64,512) · BENCH_ENGINES (all) · BENCH_ONLY (saga3,compensate,timers,
 * http,profile[,history]) · BENCH_HISTORY=1 adds history-10m · BENCH_TIMERS (10000) ·
 * BENCH_TIMER_DELAY_MS (45000) · BENCH_HISTORY_EVENTS (10000000) · BENCH_HTTP_CONNECTIONS (64) ·
 * BENCH_SCALE_PROCS (1,2,4) · BENCH_SCALE_IN_FLIGHT (512) ·
 * BENCH_STORE1M=1 adds store-1m · BENCH_STORE1M_SAGAS (1000000) · BENCH_STORE1M_REQUESTS (400) ·
 * BENCH_STORE1M_CONCURRENCY (8) · BENCH_STORE1M_KEEP=1 keeps (and reuses) its database.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { restateDurabilitySettings, restateServerBinary } from "./engines/restate.js";
import { buildOurs, CHILD_BUILD_FILE, OURS_BUILD_DIR } from "./lib/build-ours.js";
import { PgAdmin } from "./lib/pgadmin.js";
import { renderReport, type Report } from "./lib/report.js";
import type { EngineName } from "./lib/types.js";
import { historyScenario } from "./scenarios/history.js";
import { httpScenario } from "./scenarios/http.js";
import { measurePoint, type PointRecord } from "./scenarios/points.js";
import { profileScenario } from "./scenarios/profile.js";
import { scaleScenario } from "./scenarios/scale.js";
import { store1mScenario } from "./scenarios/store1m.js";
import { timersScenario } from "./scenarios/timers.js";

const ALL_ENGINES: EngineName[] = [
  "ours-pg",
  "ours-pglite",
  "dbos",
  "restate",
  "raw-naive",
  "raw-group",
];
const env = process.env;
const int = (name: string, fallback: number) => {
  const v = Number(env[name] ?? fallback);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a number (got ${env[name]})`);
  return v;
};
const list = (name: string, fallback: string) =>
  (env[name] ?? fallback)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

const seconds = int("BENCH_SECONDS", 10);
const warmupSec = int("BENCH_WARMUP", 3);
const reps = int("BENCH_REPS", 2);
const concurrency = list("BENCH_CONCURRENCY", "1,64,512").map(Number);
const engines = list("BENCH_ENGINES", ALL_ENGINES.join(",")) as EngineName[];
const history = env.BENCH_HISTORY === "1";
const store1m = env.BENCH_STORE1M === "1";
const only = new Set(
  list(
    "BENCH_ONLY",
    `saga3,scale,compensate,timers,http,profile${history ? ",history" : ""}${store1m ? ",store-1m" : ""}`,
  ),
);
const scaleProcs = list("BENCH_SCALE_PROCS", "1,2,4").map(Number);
const scaleInFlight = int("BENCH_SCALE_IN_FLIGHT", 512);
for (const p of scaleProcs)
  if (!Number.isInteger(p) || p < 1 || p > 64 || scaleInFlight % p !== 0)
    throw new Error(
      `BENCH_SCALE_PROCS must list integers from 1 to 64 that divide BENCH_SCALE_IN_FLIGHT (${scaleInFlight}); got ${p}`,
    );
for (const e of engines) if (!ALL_ENGINES.includes(e)) throw new Error(`unknown engine ${e}`);

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return "";
  }
}

function pkgVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, "utf8")) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return "not installed";
  }
}

async function main(): Promise<void> {
  let admin: PgAdmin;
  try {
    admin = await PgAdmin.connect();
  } catch (error) {
    console.error(
      `bench: PostgreSQL does not answer at ${env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432"} (${String(error)}). Start it (e.g. pg_ctlcluster 15 main start) or set BENCH_PG_URL.`,
    );
    process.exit(2);
  }
  const startedAt = new Date();
  const commit = sh("git", ["rev-parse", "--short", "HEAD"]) || "nogit";
  const dirty = sh("git", ["status", "--porcelain", "--untracked-files=no"]) !== "";
  const failures: string[] = [];
  console.log("[bench] compiling ours (tsc)…");
  const build = buildOurs();
  process.env.BENCH_OURS_DIR = OURS_BUILD_DIR; // inherited by every child
  if (build.ok) process.env.BENCH_CHILD_JS = CHILD_BUILD_FILE;
  else failures.push(build.note);
  const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "?";
  let restateVersion = "not runnable";
  let restateDurability: string[] = [];
  try {
    restateVersion = sh(restateServerBinary(), ["--version"]) || "did not answer --version";
    restateDurability = restateDurabilitySettings();
  } catch (error) {
    failures.push(`restate-server binary: ${String(error)}`);
  }
  if (
    engines.includes("restate") &&
    sh("unshare", ["-n", "sh", "-c", "ip link set lo up && echo ok"]) !== "ok"
  )
    failures.push(
      "restate: `unshare -n` (a loopback-only network namespace) is not available, and restate-server contacts GitHub at start; Restate was not run",
    );
  const report: Report = {
    startedAt: startedAt.toISOString(),
    finishedAt: "",
    commit: `${commit}${dirty ? " (with uncommitted changes)" : ""}`,
    settings: { seconds, warmupSec, reps, concurrency, engines, history },
    machine: {
      CPU: cpuModel,
      cores: String(os.cpus().length),
      memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
      kernel: `${os.type()} ${os.release()}`,
      "load average at start (1/5/15 min)": os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" / "),
      Node: process.version,
      "ours (this repository)": build.note,
      PostgreSQL: await admin.version(),
    },
    pgSettings: await admin.settings([
      "fsync",
      "synchronous_commit",
      "wal_sync_method",
      "shared_buffers",
      "full_page_writes",
      "commit_delay",
      "wal_level",
      "max_connections",
      "shared_preload_libraries",
    ]),
    versions: {
      "@dbos-inc/dbos-sdk": pkgVersion("@dbos-inc/dbos-sdk"),
      "@restatedev/restate-sdk": pkgVersion("@restatedev/restate-sdk"),
      "restate-server": restateVersion,
      "@electric-sql/pglite": pkgVersion("@electric-sql/pglite"),
      pg: pkgVersion("pg"),
      autocannon: pkgVersion("autocannon"),
    },
    restateDurability,
    saga3: [],
    scale: [],
    compensate: [],
    timers: null,
    http: [],
    history: null,
    store1m: null,
    profile: [],
    httpProfile: null,
    failures,
  };
  const stamp = startedAt.toISOString().slice(0, 10);
  const base = `${RESULTS}${stamp}-${commit}`;
  mkdirSync(RESULTS, { recursive: true });
  const save = () => {
    report.finishedAt = new Date().toISOString();
    writeFileSync(`${base}.json`, JSON.stringify(report, null, 2));
    writeFileSync(`${base}.md`, renderReport(report));
  };
  const point = { warmupMs: warmupSec * 1000, measureMs: seconds * 1000 };
  const runnable = engines.filter(
    (e) => e !== "restate" || !failures.some((f) => f.startsWith("restate")),
  );
  const noteFailure = (r: PointRecord) => {
    if (r.error)
      failures.push(
        `${r.label ?? r.workload} ${r.engine} at ${r.concurrency} (rep ${r.rep}): ${r.error.split("\n").slice(0, 6).join(" ⏎ ")}`,
      );
  };

  if (only.has("saga3")) {
    for (const c of concurrency)
      for (let rep = 1; rep <= reps; rep++)
        for (const engine of runnable) {
          const db = `bench_${engine.replace("-", "_")}`;
          const r = await measurePoint(admin, {
            engine,
            workload: "saga3",
            concurrency: c,
            rep,
            db,
            ...point,
          });
          noteFailure(r);
          report.saga3.push(r);
          await admin.drop(db);
        }
    save();
  }
  if (only.has("scale")) {
    report.scale = await scaleScenario(admin, {
      processes: scaleProcs,
      inFlight: scaleInFlight,
      reps,
      ...point,
    });
    for (const r of report.scale)
      if (r.error) failures.push(`scale ${r.processes} processes (rep ${r.rep}): ${r.check}`);
    save();
  }
  if (only.has("compensate")) {
    for (const c of concurrency)
      for (let rep = 1; rep <= reps; rep++) {
        const r = await measurePoint(admin, {
          engine: "ours-pg",
          workload: "saga3-compensate",
          concurrency: c,
          rep,
          db: "bench_compensate",
          ...point,
        });
        noteFailure(r);
        report.compensate.push(r);
      }
    await admin.drop("bench_compensate");
    save();
  }
  if (only.has("timers")) {
    report.timers = await timersScenario(admin, {
      sagas: int("BENCH_TIMERS", 10_000),
      delayMs: int("BENCH_TIMER_DELAY_MS", 45_000),
    });
    if (report.timers.error) failures.push(`timers-10k: ${report.timers.error.split("\n")[0]}`);
    await admin.drop("bench_timers");
    save();
  }
  if (only.has("http")) {
    for (const store of ["pglite", "postgres"] as const) {
      const h = await httpScenario(admin, {
        store,
        connections: int("BENCH_HTTP_CONNECTIONS", 64),
        seconds,
        warmupSec,
      });
      if (h.error) failures.push(`http-start ${store}: ${h.error.split("\n")[0]}`);
      report.http.push(h);
    }
    await admin.drop("bench_http");
    save();
  }
  if (only.has("history")) {
    report.history = await historyScenario(admin, {
      events: int("BENCH_HISTORY_EVENTS", 10_000_000),
      concurrency: [64, Math.max(...concurrency)].filter((c, i, a) => a.indexOf(c) === i),
      reps,
      ...point,
    });
    if (report.history.error) failures.push(`history-10m: ${report.history.error.split("\n")[0]}`);
    report.history.points.forEach(noteFailure);
    await admin.drop("bench_history_empty");
    save();
  }
  if (only.has("store-1m")) {
    report.store1m = await store1mScenario(admin, {
      sagas: int("BENCH_STORE1M_SAGAS", 1_000_000),
      requests: int("BENCH_STORE1M_REQUESTS", 400),
      concurrency: int("BENCH_STORE1M_CONCURRENCY", 8),
      keep: env.BENCH_STORE1M_KEEP === "1",
    });
    if (report.store1m.error) failures.push(`store-1m: ${report.store1m.error.split("\n")[0]}`);
    save();
  }
  if (only.has("profile")) {
    const targets: [EngineName, number][] = [
      ["ours-pg", Math.max(...concurrency)],
      ["ours-pg", 1],
      ["ours-pglite", 64],
    ];
    for (const [engine, c] of targets) {
      const p = await profileScenario(admin, { engine, concurrency: c, ...point });
      if (p.error) failures.push(`profile ${engine}: ${p.error.split("\n")[0]}`);
      report.profile.push(p);
      save();
    }
    // HTTP start on PostgreSQL again, the service under the profiler: where a request's time goes.
    const dir = await mkdtemp(join(os.tmpdir(), "bench-profile-http-"));
    report.httpProfile = await httpScenario(admin, {
      store: "postgres",
      connections: int("BENCH_HTTP_CONNECTIONS", 64),
      seconds,
      warmupSec,
      profileTo: join(dir, "http-start-postgres.cpuprofile"),
    });
    if (report.httpProfile.error)
      failures.push(`profile http-start: ${report.httpProfile.error.split("\n")[0]}`);
    await admin.drop("bench_http");
    save();
  }
  save();
  await admin.close();
  console.log(readFileSync(`${base}.md`, "utf8"));
  console.log(`[bench] wrote ${base}.md and ${base}.json`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
