/**
 * A chaos worker process (`node --import tsx chaos/worker.ts`, config in CHAOS_WORKER as JSON):
 * an orchestrator on the harness's PostgreSQL with the mixed workload, an event intake on its
 * Redis, and a loop that starts sagas with idempotency keys. Or, with role "relay", the outbox
 * relay. Prints JSON lines the harness reads (markers for targeted kills, acknowledged starts).
 * It is killed with -9, stopped with SIGSTOP, and started again; it never cleans up on purpose.
 */
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { OutboxRelay } from "../src/bus/outbox-relay.js";
import { RedisStreamsBus } from "../src/bus/redis-streams-bus.js";
import { EventIntake } from "../src/engine/event-intake.js";
import type { Logger } from "../src/engine/logger.js";
import { createOrchestrator, PostgresStore, type Orchestrator } from "../src/index.js";
import { chaosSagas, effectCaller, inputFor, sagaName } from "./lib/workload.js";
import { WORKER_ENV, type WorkerConfig, type WorkerMessage } from "./lib/worker-protocol.js";

function emit(message: WorkerMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

const errorText = (error: unknown): string =>
  error instanceof Error
    ? `${(error as { code?: string }).code ?? error.name}: ${error.message}`
    : String(error);

/** Retries `open` until it works: the database or Redis may be down when the process starts. */
async function persist<T>(what: string, open: () => Promise<T>): Promise<T> {
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await open();
    } catch (error) {
      emit({ t: "error", error: `${what}: ${errorText(error)}` });
      await sleep(delay);
    }
  }
}

function relay(config: WorkerConfig): Promise<void> {
  const store = new PostgresStore({ connectionString: config.databaseUrl });
  const bus = new RedisStreamsBus({
    url: config.redisUrl,
    keyPrefix: config.redisPrefix,
    logger: quiet,
  });
  new OutboxRelay({ store, bus, idleMs: 50, maxBackoffMs: 1_000, logger: quiet }).start();
  emit({ t: "ready" });
  return Promise.resolve();
}

async function worker(config: WorkerConfig): Promise<void> {
  const sagas = chaosSagas({
    effect: effectCaller(config.simulatorUrl, config.workerId),
    workMs: config.workMs,
    crashLoopLimit: config.crashLoopLimit,
    onStep: (ctx, phase) =>
      emit({ t: "step", sagaId: ctx.sagaId, step: ctx.step, phase, attempt: ctx.attempt }),
  });
  const orchestrator: Orchestrator = await persist("open", () =>
    createOrchestrator({
      sagas,
      databaseUrl: config.databaseUrl,
      workerId: config.workerId,
      leaseMs: config.leaseMs,
      heartbeatMs: config.heartbeatMs,
      pollIntervalMs: config.pollIntervalMs,
      outbox: true,
      logger: quiet,
      clock: { now: () => Date.now() + config.skewMs },
    }),
  );
  const bus = new RedisStreamsBus({
    url: config.redisUrl,
    keyPrefix: config.redisPrefix,
    blockMs: 500,
    logger: quiet,
  });
  const store = new PostgresStore({ connectionString: config.databaseUrl });
  await persist("intake", () =>
    EventIntake.start({
      bus,
      store,
      orchestrator,
      claimIdleMs: 5_000,
      maxDeliveries: 1_000,
      logger: quiet,
    }),
  );
  emit({ t: "ready" });

  commands.cancel = (sagaId) => {
    orchestrator.cancel(sagaId).then(
      () => emit({ t: "cancel-ack", sagaId }),
      (error: unknown) => emit({ t: "cancel-error", sagaId, error: errorText(error) }),
    );
  };
  if (config.keyPrefix === null) return;
  let n = 0;
  const starter = async (): Promise<void> => {
    while (!commands.stopped) {
      const key = `${config.keyPrefix}:${n++}`;
      const input = inputFor(key, config.failRate);
      // A start that failed (database down) is tried again with the same key until it answers.
      for (;;) {
        emit({ t: "starting", key });
        try {
          const handle = await orchestrator.start(sagaName(input.kind), input, {
            idempotencyKey: key,
          });
          emit({ t: "ack", key, sagaId: handle.sagaId });
          break;
        } catch (error) {
          emit({ t: "start-error", key, error: errorText(error) });
          await sleep(200);
        }
      }
      await sleep(config.startEveryMs * (0.5 + Math.random()));
    }
  };
  for (let i = 0; i < config.startConcurrency; i++) void starter();
}

/** Commands from the harness on stdin, read from the start (a line sent early is not lost). */
const commands: { stopped: boolean; cancel: ((sagaId: string) => void) | null } = {
  stopped: false,
  cancel: null,
};
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line === "stop-starts") commands.stopped = true;
  const cancel = /^cancel (\S+)$/.exec(line);
  if (cancel && commands.cancel) commands.cancel(cancel[1]!);
});

const raw = process.env[WORKER_ENV];
if (!raw) throw new Error(`${WORKER_ENV} is not set`);
const config = JSON.parse(raw) as WorkerConfig;
// The harness ends us with -9; a closed stdin means the harness itself is gone.
process.stdin.on("end", () => process.exit(3));
process.on("unhandledRejection", (error) =>
  emit({ t: "error", error: `unhandled: ${errorText(error)}` }),
);
(config.role === "relay" ? relay(config) : worker(config)).catch((error: unknown) => {
  emit({ t: "error", error: `fatal: ${errorText(error)}` });
  process.exit(2);
});
