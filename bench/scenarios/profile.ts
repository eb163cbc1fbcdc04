import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summariseProfile, type ProfileSummary } from "../lib/cpuprofile.js";
import { explainCommit } from "../lib/explain.js";
import { databaseUrl, type PgAdmin } from "../lib/pgadmin.js";
import type { EngineName } from "../lib/types.js";
import { measurePoint, type PointRecord } from "./points.js";

export interface ProfileRecord {
  engine: EngineName;
  concurrency: number;
  point: PointRecord;
  profileFile: string | null;
  summary: ProfileSummary | null;
  pgStatStatements: string;
  explain: { batch: number; plan: string } | null;
  error: string | null;
}

/**
 * Ours at one concurrency under the V8 CPU profiler (the one `node --cpu-prof` runs, here
 * started and stopped at the window's edges): self time by function and by module; on
 * PostgreSQL also client-side statement timings, pg_stat_statements if the server has it loaded,
 * and EXPLAIN ANALYZE of the group-commit statement with a real batch.
 */
export async function profileScenario(
  admin: PgAdmin,
  o: { engine: EngineName; concurrency: number; warmupMs: number; measureMs: number },
): Promise<ProfileRecord> {
  const dir = await mkdtemp(join(tmpdir(), `bench-profile-${o.engine}-`));
  const profileFile = join(dir, `${o.engine}-${o.concurrency}.cpuprofile`);
  const captured = join(dir, "commit-batch.json");
  const db = "bench_profile";
  const point = await measurePoint(admin, {
    engine: o.engine,
    workload: "saga3",
    concurrency: o.concurrency,
    rep: 1,
    warmupMs: o.warmupMs,
    measureMs: o.measureMs,
    db,
    label: "profile",
    cpuProfileTo: profileFile,
    ...(o.engine === "ours-pg" ? { captureCommitTo: captured } : {}),
  });
  const record: ProfileRecord = {
    engine: o.engine,
    concurrency: o.concurrency,
    point,
    profileFile: null,
    summary: null,
    pgStatStatements: "",
    explain: null,
    error: point.error,
  };
  try {
    if ((await readdir(dir)).some((f) => f.endsWith(".cpuprofile"))) {
      record.profileFile = profileFile;
      record.summary = summariseProfile(profileFile);
    }
    if (o.engine !== "ours-pg") return record;
    const [preload] = await admin.query<{ setting: string }>(
      "SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'",
    );
    const [available] = await admin.query<{ name: string }>(
      "SELECT name FROM pg_available_extensions WHERE name = 'pg_stat_statements'",
    );
    record.pgStatStatements = (preload?.setting ?? "").includes("pg_stat_statements")
      ? "loaded"
      : `not loaded: shared_preload_libraries = '${preload?.setting ?? ""}' (the extension is ${available ? "installed" : "not installed"}; enabling it needs a server restart, which this benchmark does not do to a shared server) — EXPLAIN ANALYZE of the commit statement below instead, and the driver-side statement timings`;
    record.explain = await explainCommit(databaseUrl(db), captured);
  } catch (error) {
    record.error = [record.error, error instanceof Error ? error.message : String(error)]
      .filter(Boolean)
      .join("; ");
  } finally {
    await admin.drop(db).catch(() => undefined);
  }
  return record;
}
