import { toErrorInfo } from "../core/errors.js";
import { ACTIVE_STATUSES, type SagaState, type SagaStatus } from "../core/state.js";
import type { CalibratedClock } from "./clock.js";
import type { Logger } from "./logger.js";
import type { DefinitionLookup } from "./registry.js";
import type { RunnerPool } from "./runner-pool.js";
import type { RunEnd, SagaRunner } from "./saga-runner.js";
import type { LeaseRef, Store } from "./store-port.js";

export interface WorkerLoopsOptions {
  store: Pick<
    Store,
    "claimDue" | "claimById" | "renewLeases" | "findDueUnsupported" | "getSignals"
  >;
  definitions: DefinitionLookup;
  /** The runners of this process: claimed sagas run there, their leases are renewed from there. */
  pool: RunnerPool;
  owner: string;
  leaseMs: number;
  heartbeatMs: number;
  pollIntervalMs: number;
  claimEnabled: boolean;
  clock: CalibratedClock;
  logger: Logger;
}

/** Timers far in the future are left to the poll loop instead of holding a local timer. */
const LOCAL_TIMER_HORIZON_MS = 15 * 60_000;

/**
 * The background duties of a worker: claim due sagas (timers, retries, recovery of crashed
 * workers), renew the leases it holds (and pick up cancel requests), fire local timers for the
 * sagas it put to sleep, and say which due sagas it cannot run (a version it lacks).
 */
export class WorkerLoops {
  private pollTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly reported = new Set<string>();
  private lastUnsupportedScan = 0;
  private stopped = false;
  private polling: Promise<void> = Promise.resolve();
  private beating: Promise<void> = Promise.resolve();

  constructor(private readonly o: WorkerLoopsOptions) {
    o.pool.onRunEnd((end) => {
      if (end.kind === "sleeping") this.sleeping(end);
    });
  }

  start(): void {
    if (this.o.claimEnabled) this.schedulePoll(0);
    this.heartbeatTimer = setInterval(() => {
      this.beating = this.heartbeat();
    }, this.o.heartbeatMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearInterval(this.heartbeatTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([this.polling, this.beating]);
  }

  /**
   * A saga of ours went to sleep: claim it back at its wake time, without waiting for a poll, and
   * look once for a signal that landed while this process held it.
   */
  private sleeping(end: Extract<RunEnd, { kind: "sleeping" }>): void {
    if (end.wakeAt !== null) this.wakeAt(end.state, end.wakeAt);
    if (!Object.values(end.state.steps).some((s) => s.status === "suspended")) return;
    void this.o.store.getSignals(end.state.id).then(
      async (signals) => {
        if (signals.length > 0)
          await this.claimNow(end.state.tenantId, end.state.id, ["running"], false);
      },
      () => undefined,
    );
  }

  private wakeAt(state: SagaState, wakeAt: number): void {
    if (this.stopped) return;
    const delay = wakeAt - this.o.clock.now();
    if (delay > LOCAL_TIMER_HORIZON_MS) return;
    clearTimeout(this.timers.get(state.id));
    const timer = setTimeout(
      () => {
        this.timers.delete(state.id);
        void this.claimNow(state.tenantId, state.id, [...ACTIVE_STATUSES], true);
      },
      Math.max(0, delay) + 2,
    );
    this.timers.set(state.id, timer);
  }

  /** Claims one saga now if nobody holds it, and runs it here. */
  async claimNow(
    tenantId: string,
    sagaId: string,
    statuses: SagaStatus[],
    onlyIfDue: boolean,
  ): Promise<SagaRunner | null> {
    if (this.stopped || this.o.pool.has(sagaId)) return null;
    try {
      const claimed = await this.o.store.claimById({
        owner: this.o.owner,
        leaseMs: this.o.leaseMs,
        sagaId,
        tenantId,
        statuses,
        onlyIfDue,
      });
      return claimed && !this.stopped ? this.o.pool.adopt(claimed) : null;
    } catch (error) {
      this.o.logger.warn(
        { sagaId, err: toErrorInfo(error) },
        "claiming a saga failed; the poll loop will retry",
      );
      return null;
    }
  }

  private schedulePoll(delay: number): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      this.polling = this.poll();
    }, delay);
  }

  private async poll(): Promise<void> {
    let full = false;
    try {
      const limit = Math.min(100, this.o.pool.room);
      const sentAt = this.o.clock.localNow();
      const result = await this.o.store.claimDue({
        owner: this.o.owner,
        leaseMs: this.o.leaseMs,
        limit,
        types: this.o.definitions.types(),
      });
      this.o.clock.calibrate(result.now, sentAt, this.o.clock.localNow());
      for (const claimed of result.claimed) {
        if (this.stopped) break;
        this.o.pool.adopt(claimed);
      }
      full = limit > 0 && result.claimed.length === limit;
      await this.reportUnsupported();
    } catch (error) {
      this.o.logger.warn({ err: toErrorInfo(error) }, "polling for due sagas failed; retrying");
    }
    this.schedulePoll(full ? 0 : this.o.pollIntervalMs);
  }

  private async heartbeat(): Promise<void> {
    // Judge only the leases sent: a new saga's lease that appears during the renewal (its create
    // committed meanwhile) was not asked about and must not be taken for lost.
    const sent = new Map<SagaRunner, LeaseRef>();
    for (const runner of this.o.pool.all()) {
      const lease = runner.currentLease;
      if (lease) sent.set(runner, lease);
    }
    const leases = [...sent.values()];
    if (leases.length === 0) return;
    try {
      const renewed = await this.o.store.renewLeases(this.o.owner, leases, this.o.leaseMs);
      const byId = new Map(renewed.map((r) => [r.sagaId, r.cancelRequested]));
      for (const [runner, lease] of sent) {
        if (this.o.pool.get(runner.sagaId) !== runner) continue;
        const cancel = byId.get(lease.sagaId);
        if (cancel === undefined) {
          // Not renewed: expired or taken over. A runner that committed meanwhile has a newer
          // lease epoch only on a fresh claim, so this is a real loss.
          if (runner.currentLease === lease) {
            this.o.logger.warn(
              { sagaId: lease.sagaId, epoch: lease.epoch },
              "lease lost (not renewed in time): this worker stops the saga, another one carries on",
            );
            runner.leaseLost();
          }
        } else if (cancel) {
          runner.requestCancel();
        }
      }
    } catch (error) {
      this.o.logger.warn(
        { err: toErrorInfo(error) },
        "renewing leases failed; retrying at the next heartbeat",
      );
    }
  }

  private async reportUnsupported(): Promise<void> {
    const now = Date.now();
    // Every 20 polls (10 s at the default poll interval): a log line, not a hot path.
    if (now - this.lastUnsupportedScan < Math.max(1_000, this.o.pollIntervalMs * 20)) return;
    this.lastUnsupportedScan = now;
    const foreign = await this.o.store.findDueUnsupported(this.o.definitions.types(), 20);
    for (const saga of foreign) {
      if (this.reported.has(saga.sagaId)) continue;
      this.reported.add(saga.sagaId);
      this.o.logger.warn(
        { sagaId: saga.sagaId, sagaName: saga.name, version: saga.version },
        `saga ${saga.sagaId} is pinned to ${saga.name} v${saga.version}, which this worker does not have; leaving it alone`,
      );
    }
  }
}
