import type { SagaState } from "../core/state.js";
import type { SagaDefinition } from "./definition.js";
import type { DefinitionLookup } from "./registry.js";
import { SagaRunner, type RunEnd, type RunnerHost, type RunnerStart } from "./saga-runner.js";
import type { Claimed, LeaseRef } from "./store-port.js";

/** Told when a runner's run ends (a saga ended, fell asleep, or left this process). */
export type RunEndListener = (end: RunEnd) => void;

/**
 * The sagas this process runs right now: one runner per saga, at most `capacity` of them. Runners
 * enter by a start, a claim or an operator's command; they leave when their run ends, and the
 * pool tells its listeners how (the result waiter hears of ended sagas, the worker loops of
 * sleeping ones).
 */
export class RunnerPool {
  private readonly runners = new Map<string, SagaRunner>();
  private readonly endListeners: RunEndListener[] = [];
  private emptied: (() => void)[] = [];

  constructor(
    private readonly host: RunnerHost,
    private readonly definitions: DefinitionLookup,
    private readonly capacity: number,
    /** Gives leases back that this process will not use (a claimed saga of a type it lacks). */
    private readonly release: (leases: readonly LeaseRef[]) => Promise<void>,
  ) {}

  get size(): number {
    return this.runners.size;
  }

  /** Room for this many more runners. */
  get room(): number {
    return this.capacity - this.runners.size;
  }

  has(sagaId: string): boolean {
    return this.runners.has(sagaId);
  }

  get(sagaId: string): SagaRunner | undefined {
    return this.runners.get(sagaId);
  }

  all(): IterableIterator<SagaRunner> {
    return this.runners.values();
  }

  onRunEnd(listener: RunEndListener): void {
    this.endListeners.push(listener);
  }

  /** Runs a saga from `start` here; its first write settles `runner.created`/`runner.written`. */
  run(definition: SagaDefinition<unknown>, start: RunnerStart): SagaRunner {
    this.runners.get(start.state.id)?.leaseLost(); // a stale local runner (its lease expired)
    const runner = new SagaRunner(this.host, definition, start);
    this.runners.set(runner.sagaId, runner);
    void runner.run().then((end) => {
      if (this.runners.get(runner.sagaId) === runner) this.runners.delete(runner.sagaId);
      for (const listener of this.endListeners) listener(end);
      if (this.runners.size === 0) for (const resolve of this.emptied.splice(0)) resolve();
    });
    return runner;
  }

  /** Runs a claimed saga here, or gives its lease back when this process lacks its definition. */
  adopt(claimed: Claimed): SagaRunner | null {
    const definition = this.definitionOf(claimed.state);
    if (!definition) {
      // claimDue filters on types; a claimById can reach a type this process lacks: hand it back.
      void this.release([claimed.lease]).catch(() => undefined);
      return null;
    }
    return this.run(definition, claimed);
  }

  /** Resolves once no runner is left (at once when none is). */
  whenEmpty(): Promise<void> {
    if (this.runners.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptied.push(resolve));
  }

  /** The leases of the runners left at shutdown, after telling each to stop. */
  haltAll(): LeaseRef[] {
    const leases: LeaseRef[] = [];
    for (const runner of this.runners.values()) {
      if (runner.currentLease) leases.push(runner.currentLease);
      runner.halt();
    }
    return leases;
  }

  private definitionOf(state: SagaState): SagaDefinition<unknown> | undefined {
    return this.definitions.find(state.name, state.version, state.tenantId);
  }
}
