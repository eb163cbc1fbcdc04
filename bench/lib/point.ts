import { writeFileSync } from "node:fs";
import type { EngineFactory, RunningEngine } from "../engines/engine.js";
import { closedLoop, type Snapshot } from "./loop.js";
import { machineBusySec } from "./proc.js";
import { WindowProfiler } from "./window-profiler.js";
import { installPgCounter, type PgCounter } from "./pg-counter.js";
import { StepProbe } from "./probe.js";
import { distribution } from "./stats.js";
import type { EngineName, PointResult, PointSpec } from "./types.js";

const STEPS_PER_SAGA = { saga3: 3, "saga3-compensate": 5 } as const;

async function factory(name: EngineName): Promise<EngineFactory> {
  switch (name) {
    case "ours-pg":
      return (await import("../engines/ours.js")).oursPg;
    case "ours-pglite":
      return (await import("../engines/ours.js")).oursPglite;
    case "dbos":
      return (await import("../engines/dbos.js")).dbos;
    case "restate":
      return (await import("../engines/restate.js")).restate;
    case "raw-naive":
      return (await import("../engines/raw.js")).rawNaive;
    case "raw-group":
      return (await import("../engines/raw.js")).rawGroup;
  }
}

/** Runs one measured point in this process: start the engine, closed loop, drain, check, close. */
export async function runPoint(spec: PointSpec): Promise<PointResult> {
  const usesPg = !["ours-pglite", "restate"].includes(spec.engine);
  // The largest group-commit batch (by the length of its JSON: cheap, no parsing in the run).
  let largest: { text: string; values: readonly unknown[] } | null = null;
  const counter: PgCounter | null = usesPg
    ? installPgCounter((text, values) => {
        if (!spec.captureCommitTo || !values || typeof values[0] !== "string") return;
        if (!text.includes("UPDATE saga_instances i SET")) return;
        if (!text.includes("jsonb_to_recordset($1::jsonb)")) return;
        if (!largest || values[0].length > String(largest.values[0]).length)
          largest = { text, values };
      })
    : null;
  const probe = new StepProbe();
  let edgeCount = 0;
  const notes: string[] = [];
  const engine: RunningEngine = await (await factory(spec.engine))({ spec, probe, notes });
  if (spec.shared) await readyThenGo();
  const rtAt: number[] = [];
  const profiler = spec.cpuProfileTo ? new WindowProfiler(spec.cpuProfileTo) : null;
  const snapshot = (): Snapshot => {
    const edge = edgeCount++ === 0 ? "start" : "end";
    if (edge === "start") profiler?.start();
    else profiler?.stop();
    if (counter) rtAt.push(counter.count());
    process.send?.({ type: "edge", edge });
    return {
      at: performance.now(),
      cpu: process.cpuUsage(),
      storeCpuSec: engine.storeCpuSec(),
      machineSec: machineBusySec(),
    };
  };
  const loop = await closedLoop({
    concurrency: spec.concurrency,
    warmupMs: spec.warmupMs,
    measureMs: spec.measureMs,
    runOne: (k) => engine.runOne(k),
    probe,
    snapshot,
  });
  await profiler?.written();
  const storeCounts = await engine.counts().catch((e: unknown) => {
    notes.push(`store counts unavailable: ${String(e)}`);
    return null;
  });
  if (spec.captureCommitTo && largest) {
    const { text, values } = largest as { text: string; values: readonly unknown[] };
    const size = (JSON.parse(String(values[0])) as unknown[]).length;
    writeFileSync(spec.captureCommitTo, JSON.stringify({ size, text, values }));
  }
  await engine.close();

  const { start, end } = loop;
  const windowSec = (end.at - start.at) / 1000;
  const latencies = loop.latencies.within(start.at, end.at);
  const cpu = (end.cpu.user - start.cpu.user + end.cpu.system - start.cpu.system) / 1e6;
  const storeCpu =
    start.storeCpuSec === null || end.storeCpuSec === null
      ? null
      : (end.storeCpuSec - start.storeCpuSec) / windowSec;
  // Round trips of the window (the same edges as the sagas counted in it).
  const roundTrips = counter && rtAt.length >= 2 ? rtAt[1]! - rtAt[0]! : null;
  const machineCores = (end.machineSec - start.machineSec) / windowSec;
  return {
    spec,
    windowSec,
    completedInWindow: latencies.length,
    completedTotal: loop.completed,
    startedTotal: loop.started,
    failed: loop.failed,
    firstError: loop.firstError,
    stuck: loop.stuck,
    sagasPerSec: latencies.length / windowSec,
    latency: distribution(latencies),
    dispatch: distribution(probe.gaps.within(start.at, end.at)),
    duplicateSteps: probe.duplicates,
    stepInvocations: probe.invocations,
    nodeCpuSec: cpu,
    nodeCpuSecPer1000: latencies.length > 0 ? (cpu / latencies.length) * 1000 : NaN,
    peakRssMb: loop.peakRssMb,
    maxTimerLagMs: loop.maxTimerLagMs,
    storeCpuCores: storeCpu,
    machineBusyCores: machineCores,
    otherCores: machineCores - cpu / windowSec - (storeCpu ?? 0),
    storeLabel: engine.storeLabel,
    roundTrips,
    statements: counter?.statements().slice(0, 12) ?? null,
    storeCounts,
    ...(spec.shared ? { latencies } : {}),
    notes: [
      ...notes,
      ...probe.duplicateSamples.map(
        (d) => `${spec.engine} c=${spec.concurrency}: duplicate step run: ${d}`,
      ),
    ],
  };
}

/** Tells the driver this process is ready, and waits for its "go" (all processes start at once). */
function readyThenGo(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (message !== "go") return;
      process.off("message", onMessage);
      resolve();
    };
    process.on("message", onMessage);
    process.send?.({ type: "ready" });
  });
}

export { STEPS_PER_SAGA };
