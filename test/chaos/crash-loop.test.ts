import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/core/errors.js";
import { createOrchestrator, defineSaga, type Orchestrator } from "../../src/index.js";
import { TEST_DATABASE_URL } from "../helpers/services.js";
import { freshSchema } from "../helpers/stores.js";

// Real processes whose step kills them (kill -9 of themselves): a crash of ours must not decide
// the business outcome. A step with a budget of 1 attempt that loses its worker 3 times still
// completes; one that kills its worker every time stops after 5 lost attempts (SAGA_CRASH_LOOP).
const WORKER = fileURLToPath(new URL("./fixtures/crash-loop-worker.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const schema = freshSchema();
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
});

/** Keeps one worker alive: a new one each time the last one killed itself. */
function keepWorking(): () => void {
  let stopped = false;
  const spawnOne = (): void => {
    if (stopped) return;
    const child = spawn(process.execPath, ["--import", "tsx", WORKER, schema, TEST_DATABASE_URL], {
      cwd: ROOT,
      stdio: ["pipe", "ignore", "inherit"],
    });
    children.add(child);
    child.once("exit", () => {
      children.delete(child);
      spawnOne();
    });
  };
  spawnOne();
  return () => {
    stopped = true;
    for (const c of children) c.kill("SIGKILL");
  };
}

describe("lost attempts in real processes", () => {
  it(
    "do not use the retry budget; a step that always kills its worker stops with SAGA_CRASH_LOOP",
    { timeout: 420_000 },
    async () => {
      // This process only starts the sagas and reads them: it never runs a step.
      const producer: Orchestrator = await createOrchestrator({
        sagas: [
          defineSaga<{ crashes: number }>({
            name: "crashy",
            retry: { maxAttempts: 1 },
            steps: [
              { name: "before", action: () => Promise.reject(new Error("producer")) },
              { name: "boom", action: () => Promise.reject(new Error("producer")) },
            ],
          }),
        ],
        databaseUrl: TEST_DATABASE_URL,
        schema,
        worker: false,
        maxConcurrentSagas: 0,
        resultPollMs: 200,
      });
      const stop = keepWorking();
      try {
        // One after the other: a crash ends every attempt in flight in that process, so a saga
        // sharing a worker with the crash-looping one would lose its attempts too.
        const thrice = await producer.start("crashy", { crashes: 3 });
        const a = await thrice.result();
        expect(a.status).toBe("completed");
        const boomA = (await producer.get(thrice.sagaId))!.steps.boom!;
        expect(boomA).toMatchObject({ status: "completed", attempts: 4, lostAttempts: 3 });

        const always = await producer.start("crashy", { crashes: -1 });
        const b = await always.result();
        expect(b.status).toBe("compensated");
        const events = await producer.events(always.sagaId);
        const failed = events.find((e) => e.type === "StepFailed");
        expect(failed).toMatchObject({ step: "boom", attempt: 5 });
        expect(failed?.type === "StepFailed" && failed.error.code).toBe(ErrorCodes.SAGA_CRASH_LOOP);
        expect(events.filter((e) => e.type === "StepCompensated").map((e) => e.type)).toHaveLength(
          1,
        );
      } finally {
        stop();
        await producer.close();
      }
    },
  );
});
