// The README's library example, runnable: `npm run example` (embedded PGlite, nothing to set up),
// or `DATABASE_URL=postgres://… npm run example` for PostgreSQL.
import { createOrchestrator, defineSaga, TerminalError } from "../src/index.js";

// Stand-ins for the services a real saga calls; they honour the idempotency key.
const backtests = new Map<string, number>();
const svc = {
  create: (strategyId: number, idempotencyKey: string) => {
    const id = backtests.get(idempotencyKey) ?? strategyId * 1000 + backtests.size;
    backtests.set(idempotencyKey, id);
    return Promise.resolve(id);
  },
  delete: (backtestId: number) => {
    console.log(`  compensation: deleted backtest ${backtestId}`);
    return Promise.resolve();
  },
};
const runner = {
  run: async (backtestId: number, strategyId: number, { signal }: { signal: AbortSignal }) => {
    await new Promise((r) => setTimeout(r, 20));
    signal.throwIfAborted();
    if (strategyId === 13) throw new TerminalError("strategy 13 is not allowed to trade");
    return { backtestId, profit: 42.5 };
  },
  cleanup: (backtestId: number) => {
    console.log(`  compensation: cleaned up runs of backtest ${backtestId}`);
    return Promise.resolve();
  },
};

interface Input {
  strategyId: number;
}
interface Results {
  create_backtest: { backtestId: number };
  run_strategy: { backtestId: number; profit: number };
}

const backtest = defineSaga<Input, Results>({
  name: "backtest_workflow",
  version: 1,
  timeoutMs: 60_000,
  steps: [
    {
      name: "create_backtest",
      action: async (ctx) => ({
        backtestId: await svc.create(ctx.input.strategyId, ctx.idempotencyKey),
      }),
      compensate: (ctx) => svc.delete(ctx.results.create_backtest.backtestId),
      timeoutMs: 30_000,
      retry: { maxAttempts: 3, initialDelayMs: 200, backoff: 2, maxDelayMs: 5_000 },
    },
    {
      name: "run_strategy",
      action: (ctx, { signal }) =>
        runner.run(ctx.results.create_backtest.backtestId, ctx.input.strategyId, { signal }),
      compensate: (ctx) => runner.cleanup(ctx.results.create_backtest.backtestId),
    },
  ],
});

const orch = await createOrchestrator({
  sagas: [backtest],
  ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
});
try {
  for (const strategyId of [123, 13]) {
    const run = await orch.start(
      "backtest_workflow",
      { strategyId },
      { idempotencyKey: `req-${strategyId}` },
    );
    const result = await run.result();
    console.log(
      `saga ${run.sagaId} (strategy ${strategyId}): ${result.status}`,
      result.error?.message ?? result.results,
    );
  }
} finally {
  await orch.close();
}
