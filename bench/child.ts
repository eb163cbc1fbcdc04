import { runPoint } from "./lib/point.js";
import type { ChildMessage, ChildTask } from "./lib/types.js";

/**
 * A child process of the driver: runs one task and reports over the IPC channel, so that each
 * engine's CPU time and peak RSS are its own.
 */
function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      console.log(JSON.stringify(message));
      resolve();
    } else process.send(message, undefined, undefined, () => resolve());
  });
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? "{}") as ChildTask;
  switch (task.kind) {
    case "point":
      await send({ type: "result", result: await runPoint(task.point) });
      break;
    case "timers-hold":
      await (await import("./scenarios/timers-child.js")).holdTimers(task, send);
      break;
    case "timers-resume":
      await (await import("./scenarios/timers-child.js")).resumeTimers(task, send);
      break;
    case "http-service":
      await (await import("./scenarios/http-child.js")).serveHttp(task, send);
      return; // runs until the driver stops it
  }
  process.exit(0);
}

main().catch(async (error: unknown) => {
  await send({
    type: "error",
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
  process.exit(1);
});
