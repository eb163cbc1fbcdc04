import { loadOurs } from "../lib/ours.js";
import type { ChildMessage, ChildTask } from "../lib/types.js";

type Send = (m: ChildMessage) => Promise<void>;
type HoldTask = Extract<ChildTask, { kind: "timers-hold" }>;
type ResumeTask = Extract<ChildTask, { kind: "timers-resume" }>;

const counts = { firstAttempts: 0, secondAttempts: 0, afterSteps: 0 };

/** Step 1 fails on its first attempt and is retried after `delayMs` (a durable timer); step 2 is a no-op. */
async function timerSaga(delayMs: number) {
  const { defineSaga } = await loadOurs();
  return defineSaga<{ k: number }>({
    name: "bench_timer",
    steps: [
      {
        name: "wait",
        retry: {
          maxAttempts: 2,
          initialDelayMs: delayMs,
          backoff: 1,
          jitter: 0,
          maxDelayMs: delayMs,
        },
        action: (ctx) => {
          if (ctx.attempt === 1) {
            counts.firstAttempts++;
            return Promise.reject(new Error("not yet: retry on the timer"));
          }
          counts.secondAttempts++;
          return Promise.resolve({ waited: true });
        },
      },
      {
        name: "after",
        action: () => {
          counts.afterSteps++;
          return Promise.resolve({ done: true });
        },
      },
    ],
  });
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const mb = (bytes: number) => bytes / 1024 / 1024;

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Process A: starts `sagas` sagas that all end up waiting on their retry timer, then reports its
 * memory and waits to be killed (SIGKILL) by the driver.
 */
export async function holdTimers(task: HoldTask, send: Send): Promise<void> {
  const { createOrchestrator } = await loadOurs();
  const orch = await createOrchestrator({
    databaseUrl: task.databaseUrl,
    sagas: [await timerSaga(task.delayMs)],
  });
  gc();
  const baseline = process.memoryUsage();
  let sleeping = 0;
  orch.onCommitted((_state, events) => {
    for (const e of events) if (e.type === "StepFailed") sleeping++;
  });
  const began = performance.now();
  for (let k = 0; k < task.sagas; k += 500) {
    const chunk = Array.from({ length: Math.min(500, task.sagas - k) }, (_, i) => k + i);
    await Promise.all(chunk.map((i) => orch.start("bench_timer", { k: i })));
  }
  await until(() => sleeping >= task.sagas && orch.runningHere === 0, 300_000, "every saga asleep");
  const startSec = (performance.now() - began) / 1000;
  gc();
  const held = process.memoryUsage();
  await send({
    type: "ready",
    info: {
      sagas: task.sagas,
      startSec,
      rssMb: mb(held.rss),
      heapUsedMb: mb(held.heapUsed),
      baselineRssMb: mb(baseline.rss),
      baselineHeapUsedMb: mb(baseline.heapUsed),
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      firstAttempts: counts.firstAttempts,
      secondAttemptsBeforeKill: counts.secondAttempts,
    },
  });
  await new Promise(() => undefined); // held until the driver kills this process
}

/** Process B: a fresh orchestrator on the same database; reports when every saga has completed. */
export async function resumeTimers(task: ResumeTask, send: Send): Promise<void> {
  let completed = 0;
  const { createOrchestrator } = await loadOurs();
  const orch = await createOrchestrator({
    databaseUrl: task.databaseUrl,
    sagas: [await timerSaga(1)],
  });
  const readySec = process.uptime();
  orch.onCommitted((_state, events) => {
    for (const e of events) if (e.type === "SagaCompleted") completed++;
  });
  await until(() => completed >= task.sagas, 600_000, "every saga completed");
  const doneSec = process.uptime();
  await orch.close();
  await send({
    type: "done",
    info: {
      readySec,
      doneSec,
      completed,
      secondAttempts: counts.secondAttempts,
      afterSteps: counts.afterSteps,
      firstAttemptsAgain: counts.firstAttempts,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    },
  });
}
