import type { StepProbe } from "./probe.js";
import { Samples } from "./stats.js";

export interface Snapshot {
  at: number;
  cpu: NodeJS.CpuUsage;
  storeCpuSec: number | null;
  /** Busy CPU seconds of the whole machine (every process). */
  machineSec: number;
}

export interface LoopOptions {
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  runOne: (key: number) => Promise<void>;
  probe: StepProbe;
  /** Taken at the start and at the end of the measured window. */
  snapshot: () => Snapshot;
  drainTimeoutMs?: number;
}

export interface LoopResult {
  start: Snapshot;
  end: Snapshot;
  latencies: Samples;
  started: number;
  completed: number;
  failed: number;
  firstError: string | null;
  stuck: number;
  peakRssMb: number;
  /** Longest lateness of a 100 ms timer during the run: how long the event loop was starved. */
  maxTimerLagMs: number;
}

/**
 * A closed loop: `concurrency` sagas in flight, a new one starts when one ends. The window
 * [warm-up end, warm-up end + measure] is measured; then no new saga starts and the ones in
 * flight are drained (up to `drainTimeoutMs`, default 60 s; what is left is reported stuck).
 * The window's edges are checked by the workers themselves at every saga boundary, not only by
 * timers: an engine that never yields to the event loop (all-microtask work, e.g. an in-process
 * database) would starve them.
 */
export async function closedLoop(o: LoopOptions): Promise<LoopResult> {
  const latencies = new Samples();
  let next = 0;
  let completed = 0;
  let failed = 0;
  let inFlight = 0;
  let firstError: string | null = null;
  let peakRss = process.memoryUsage.rss();
  let maxLag = 0;
  const began = performance.now();
  const windowFrom = began + o.warmupMs;
  const windowTo = windowFrom + o.measureMs;
  const window: { start?: Snapshot; end?: Snapshot } = {};
  const edges = (now: number): boolean => {
    if (now >= windowFrom) window.start ??= o.snapshot();
    if (now >= windowTo) window.end ??= o.snapshot();
    return window.end !== undefined;
  };
  let lastTick = began;
  const sampler = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - lastTick - 100);
    lastTick = now;
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    edges(now);
  }, 100);

  const worker = async (): Promise<void> => {
    while (!edges(performance.now())) {
      const key = next++;
      const t0 = performance.now();
      inFlight++;
      try {
        await o.runOne(key);
        const t1 = performance.now();
        latencies.push(t1, t1 - t0);
        completed++;
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      } finally {
        inFlight--;
        o.probe.done(key);
      }
    }
  };
  const workers = Array.from({ length: o.concurrency }, () => worker());
  const drained = await Promise.race([
    Promise.all(workers).then(() => true),
    new Promise<boolean>((resolve) => {
      const wait = () =>
        window.end
          ? setTimeout(() => resolve(false), o.drainTimeoutMs ?? 60_000)
          : setTimeout(wait, 100);
      wait();
    }),
  ]);
  clearInterval(sampler);
  maxLag = Math.max(maxLag, performance.now() - lastTick - 100);
  peakRss = Math.max(peakRss, process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024);
  return {
    start: window.start ?? o.snapshot(),
    end: window.end ?? o.snapshot(),
    latencies,
    started: next,
    completed,
    failed,
    firstError,
    stuck: drained ? 0 : inFlight,
    peakRssMb: peakRss / 1024 / 1024,
    maxTimerLagMs: maxLag,
  };
}
