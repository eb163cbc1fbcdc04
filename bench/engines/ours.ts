import type { Logger, Orchestrator } from "../../src/index.js";
import { loadOurs } from "../lib/ours.js";
import type { StepProbe } from "../lib/probe.js";
import type { Workload } from "../lib/types.js";
import {
  postgresCpu,
  queryOnce,
  stepResult,
  toCounts,
  type EngineContext,
  type RunningEngine,
} from "./engine.js";

interface BenchInput {
  k: number;
}

/** saga3: three no-op steps; saga3-compensate: step 3 fails for good, 2 compensations run. */
export async function benchSaga(workload: Workload, probe: StepProbe, name = "bench_saga3") {
  const { defineSaga, TerminalError } = await loadOurs();
  const fails = workload === "saga3-compensate";
  return defineSaga<BenchInput>({
    name,
    steps: [1, 2, 3].map((i) => ({
      name: `s${i}`,
      action: (ctx: { input: BenchInput }) => {
        probe.enter(ctx.input.k, `s${i}`);
        if (fails && i === 3) {
          probe.exit(ctx.input.k);
          return Promise.reject(new TerminalError("step 3 fails for good (bench)"));
        }
        const result = stepResult(i);
        probe.exit(ctx.input.k);
        return Promise.resolve(result);
      },
      ...(fails && i < 3
        ? {
            compensate: (ctx: { input: BenchInput }) => {
              probe.enter(ctx.input.k, `undo-s${i}`);
              const result = { undone: i };
              probe.exit(ctx.input.k);
              return Promise.resolve(result);
            },
          }
        : {}),
    })),
  });
}

/** Counts the engine's warnings and errors by message; the report lists them. */
function countingLogger(): { logger: Logger; summary: () => string[] } {
  const seen = new Map<string, number>();
  const count = (level: string) => (fields: object, message: string) => {
    const code =
      (fields as { code?: string; err?: { code?: string } }).code ??
      (fields as { err?: { code?: string } }).err?.code;
    const key = `${level}: ${message}${code ? ` (${code})` : ""}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  };
  return {
    logger: {
      debug: () => undefined,
      info: () => undefined,
      warn: count("warn"),
      error: count("error"),
      isLevelEnabled: (level) => level === "warn" || level === "error",
    },
    summary: () => [...seen].map(([k, n]) => `engine log ${n}× ${k}`),
  };
}

function running(
  orch: Orchestrator,
  ctx: EngineContext,
  storeCpu: () => number | null,
  storeLabel: string,
  counts: () => Promise<Record<string, number> | null>,
  log: ReturnType<typeof countingLogger>,
): RunningEngine {
  const expected = ctx.spec.workload === "saga3" ? "completed" : "compensated";
  return {
    runOne: async (k) => {
      const handle = await orch.start("bench_saga3", { k });
      const result = await handle.result();
      if (result.status !== expected) throw new Error(`saga ended ${result.status}`);
    },
    storeCpuSec: storeCpu,
    storeLabel,
    counts,
    close: async () => {
      await orch.close({ graceMs: 1_000 });
      ctx.notes.push(
        ...log
          .summary()
          .map((l) => `${ctx.spec.engine} ${ctx.spec.workload} c=${ctx.spec.concurrency}: ${l}`),
      );
    },
  };
}

/** Ours on PostgreSQL, as a user would create it: createOrchestrator({ databaseUrl, sagas }). */
export async function oursPg(ctx: EngineContext): Promise<RunningEngine> {
  const url = ctx.spec.databaseUrl;
  const log = countingLogger();
  const { createOrchestrator } = await loadOurs();
  const orch = await createOrchestrator({
    databaseUrl: url,
    sagas: [await benchSaga(ctx.spec.workload, ctx.probe)],
    logger: log.logger,
  });
  ctx.notes.push(
    "ours-pg: createOrchestrator defaults (pool 4, group commit batch 256, 2 flushes)",
  );
  const counts = async () =>
    toCounts(
      await queryOnce<{ label: string; n: string }>(
        url,
        "SELECT status AS label, count(*) AS n FROM saga_instances GROUP BY status",
      ),
    );
  return running(orch, ctx, postgresCpu(url), "PostgreSQL", counts, log);
}

/** Ours on embedded PGlite, in memory (one WASM PostgreSQL, one connection, in this process). */
export async function oursPglite(ctx: EngineContext): Promise<RunningEngine> {
  const log = countingLogger();
  const { createOrchestrator } = await loadOurs();
  const orch = await createOrchestrator({
    sagas: [await benchSaga(ctx.spec.workload, ctx.probe)],
    logger: log.logger,
  });
  ctx.notes.push(
    "ours-pglite: in-memory PGlite (no fsync, not durable across a process death), single connection, in-process: its CPU is in the node column",
  );
  const counts = async () => {
    const active = await orch.countActive();
    return { active: active.reduce((n, a) => n + a.count, 0) };
  };
  return running(orch, ctx, () => null, "in-process", counts, log);
}
