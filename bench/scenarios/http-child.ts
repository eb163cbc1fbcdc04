import type { AddressInfo } from "node:net";
import { loadConfigModule, loadOurs, loadService } from "../lib/ours.js";
import type { ChildMessage, ChildTask } from "../lib/types.js";
import { WindowProfiler } from "../lib/window-profiler.js";

type Send = (m: ChildMessage) => Promise<void>;

/**
 * The service as `saga serve` builds it (createService), with the bench saga, on 127.0.0.1 and a
 * free port. Answers "report" (sagas completed, CPU since "mark") and "stop" over IPC.
 */
export async function serveHttp(
  task: Extract<ChildTask, { kind: "http-service" }>,
  send: Send,
): Promise<void> {
  const [{ defineSaga }, { loadConfig }, { createService }] = await Promise.all([
    loadOurs(),
    loadConfigModule(),
    loadService(),
  ]);
  // A fast test saga: three no-op steps.
  const httpSaga = defineSaga({
    name: "bench_http",
    steps: [1, 2, 3].map((i) => ({ name: `s${i}`, action: () => Promise.resolve({ step: i }) })),
  });
  const config = loadConfig({
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    SAGA_RATE_LIMIT_PER_MINUTE: "10000000",
    SAGA_QUOTA_STARTS_PER_SECOND: "1000000",
    ...(task.databaseUrl
      ? { DATABASE_URL: task.databaseUrl }
      : { SAGA_DATA_DIR: task.dataDir ?? "" }),
    ...task.env,
  });
  const service = await createService(config, { sagas: [httpSaga], logger: false });
  let completed = 0;
  service.orchestrator.onCommitted((_state, events) => {
    for (const e of events) if (e.type === "SagaCompleted") completed++;
  });
  await service.app.listen({ host: "127.0.0.1", port: 0 });
  const port = (service.app.server.address() as AddressInfo).port;
  let cpu = process.cpuUsage();
  let markedAt = performance.now();
  // Under the profiler from "mark" (the measured window starts) to the first "report" (it ended).
  let profiler: WindowProfiler | null = null;
  process.on("message", (message: string) => {
    if (message === "mark") {
      cpu = process.cpuUsage();
      markedAt = performance.now();
      if (task.cpuProfileTo && !profiler) {
        profiler = new WindowProfiler(task.cpuProfileTo);
        profiler.start();
      }
    } else if (message === "report") {
      const used = process.cpuUsage(cpu);
      profiler?.stop();
      void (profiler?.written() ?? Promise.resolve()).then(() =>
        send({
          type: "done",
          info: {
            completed,
            running: service.orchestrator.runningHere,
            cpuSec: (used.user + used.system) / 1e6,
            sinceMarkSec: (performance.now() - markedAt) / 1000,
            peakRssMb: process.resourceUsage().maxRSS / 1024,
          },
        }),
      );
    } else if (message === "stop") {
      void service.close().then(() => process.exit(0));
    }
  });
  await send({ type: "ready", port });
}
