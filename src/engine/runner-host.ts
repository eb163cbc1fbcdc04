import { Batcher } from "./batcher.js";
import { ChildSagas } from "./child-sagas.js";
import type { CalibratedClock } from "./clock.js";
import { CommitFanout } from "./commit-fanout.js";
import type { CompiledOptions } from "./orchestrator-options.js";
import type { DefinitionRegistry } from "./registry.js";
import { ResultWaiter } from "./result-waiter.js";
import { RunnerPool } from "./runner-pool.js";
import { SagaCommands } from "./saga-commands.js";
import type { RunnerHost } from "./saga-runner.js";
import { SagaStarter } from "./saga-starter.js";
import type { Commit, CommitResult, CreateResult, NewSaga } from "./store-port.js";
import { WorkerLoops } from "./worker-loops.js";

/** The parts of an orchestrator, wired together once. */
export interface OrchestratorParts {
  readonly host: RunnerHost;
  readonly pool: RunnerPool;
  readonly starter: SagaStarter;
  readonly commands: SagaCommands;
  readonly children: ChildSagas;
  readonly waiter: ResultWaiter;
  readonly fanout: CommitFanout;
  readonly loops: WorkerLoops;
}

/**
 * Wires the parts of an orchestrator. Writes go through two group-commit batchers (creates and
 * commits); every durable write is fanned out to the commit listeners; runners live in the pool,
 * which the worker loops feed and renew, the starter fills, and the result waiter listens to.
 * Child sagas close the loop: a runner starts its children through the starter, which runs them
 * in the pool.
 */
export function assembleRunnerHost(
  o: CompiledOptions,
  registry: DefinitionRegistry,
  clock: CalibratedClock,
  /** The orchestrator: once it is closing, runners start nothing new and hand their sagas back. */
  owner: { readonly isClosing: boolean },
): OrchestratorParts {
  const store = o.store;
  const batch = {
    maxBatch: o.maxCommitBatch,
    maxConcurrent: o.commitConcurrency,
    isItemFault: (error: unknown) => store.isDataError(error),
  };
  const creates = new Batcher<NewSaga, CreateResult>((b) => store.create(b), batch);
  const commits = new Batcher<Commit, CommitResult>((b) => store.commit(b), batch);
  const fanout = new CommitFanout(o.logger);
  let pool: RunnerPool | null = null;
  const waiter = new ResultWaiter(store, (sagaId) => pool?.has(sagaId) ?? false, o.resultPollMs);
  const children = new ChildSagas(store, waiter, o.logger);
  const host: RunnerHost = {
    owner: o.workerId,
    leaseMs: o.leaseMs,
    clock,
    random: o.random,
    logger: o.logger,
    outbox: o.outbox,
    ...(o.maxStepResultBytes !== undefined ? { maxStepResultBytes: o.maxStepResultBytes } : {}),
    create: (saga) => creates.submit(saga),
    commit: (commit) => commits.submit(commit),
    committed: (state, events) => fanout.committed(state, events),
    draining: () => owner.isClosing,
    children,
    loadSignals: (sagaId) => store.getSignals(sagaId),
  };
  pool = new RunnerPool(host, registry, o.maxConcurrentSagas, (leases) =>
    store.releaseLeases(o.workerId, leases),
  );
  pool.onRunEnd((end) => {
    if (end.kind === "idle") waiter.settled(end.state);
  });
  const loops = new WorkerLoops({
    store,
    definitions: registry,
    pool,
    owner: o.workerId,
    leaseMs: o.leaseMs,
    heartbeatMs: o.heartbeatMs,
    pollIntervalMs: o.pollIntervalMs,
    claimEnabled: o.worker,
    clock,
    logger: o.logger,
  });
  const starter = new SagaStarter(registry, pool, host, clock);
  const commands = new SagaCommands(
    store,
    registry,
    pool,
    (tenantId, sagaId, statuses, onlyIfDue) =>
      loops.claimNow(tenantId, sagaId, statuses, onlyIfDue),
    { owner: o.workerId, leaseMs: o.leaseMs },
    clock,
  );
  children.attach(starter, commands);
  fanout.add((state, events) => children.onCommitted(state, events));
  return { host, pool, starter, commands, children, waiter, fanout, loops };
}
