import { ErrorCodes, invalidState } from "../core/errors.js";
import type { EventDraft } from "../core/events.js";
import type { SagaStatus } from "../core/state.js";
import { deadlineBase, type Clock } from "./clock.js";
import type { SagaDefinition } from "./definition.js";
import { sagaNotFound } from "./engine-errors.js";
import type { DefinitionLookup } from "./registry.js";
import type { RunnerPool } from "./runner-pool.js";
import type { SagaRunner } from "./saga-runner.js";
import type { Store } from "./store-port.js";

/** How an operator moves a saga that waits: a failed one is retried, a completed one undone. */
export type Resumption = "retry" | "compensate";

const RESUMABLE: Record<Resumption, { from: SagaStatus; verb: string }> = {
  retry: { from: "failed", verb: "retried" },
  compensate: { from: "completed", verb: "compensated" },
};

/** Claims one saga now, if nobody holds it, and runs it here (the worker loops do this). */
export type ClaimNow = (
  tenantId: string,
  sagaId: string,
  statuses: SagaStatus[],
  onlyIfDue: boolean,
) => Promise<SagaRunner | null>;

/**
 * An operator's commands on one saga: cancel it, retry it after a failure, or compensate it after
 * it completed. Each returns once what it decided is durable.
 */
export class SagaCommands {
  constructor(
    private readonly store: Pick<Store, "requestCancel" | "getSaga" | "claimById">,
    private readonly definitions: DefinitionLookup,
    private readonly pool: RunnerPool,
    private readonly claimNow: ClaimNow,
    private readonly lease: { owner: string; leaseMs: number },
    private readonly clock: Clock,
  ) {}

  /**
   * Stops forward progress (the running step's signal is aborted) and compensates. A saga already
   * compensating is left as it is. Throws SAGA_NOT_FOUND, or SAGA_INVALID_STATE once it ended.
   */
  async cancel(tenantId: string, sagaId: string): Promise<void> {
    const request = await this.store.requestCancel(tenantId, sagaId);
    if (!request.found) throw sagaNotFound(sagaId);
    if (!request.accepted) {
      if (request.status === "compensating") return;
      throw invalidState(`saga ${sagaId} is ${request.status}; it cannot be cancelled`);
    }
    const local = this.pool.get(sagaId);
    if (local) return local.requestCancel();
    // Nobody holds it (it sleeps, or waits for an operator): act on it here, now.
    const runner = await this.claimNow(tenantId, sagaId, ["running", "failed"], false);
    await runner?.written;
  }

  /**
   * `retry`: the compensation that failed (or, after a paused forward failure, the failed step)
   * gets a fresh retry budget and a new deadline. `compensate`: a completed saga's compensations
   * run in reverse completion order (reason `requested`). Throws SAGA_NOT_FOUND, SAGA_UNKNOWN_TYPE,
   * or SAGA_INVALID_STATE when the saga is not in the status the command needs.
   */
  async resume(tenantId: string, sagaId: string, how: Resumption): Promise<void> {
    const saga = await this.store.getSaga(tenantId, sagaId);
    if (!saga) throw sagaNotFound(sagaId);
    const { name, version } = saga.state;
    const definition =
      this.definitions.find(name, version, tenantId) ??
      this.definitions.resolve(name, version, tenantId); // throws SAGA_UNKNOWN_TYPE
    const { from, verb } = RESUMABLE[how];
    const claimed =
      saga.state.status === from
        ? await this.store.claimById({
            owner: this.lease.owner,
            leaseMs: this.lease.leaseMs,
            sagaId,
            tenantId,
            statuses: [from],
            onlyIfDue: false,
          })
        : null;
    if (!claimed)
      throw invalidState(
        `saga ${sagaId} is ${saga.state.status}; only a ${from} saga can be ${verb}`,
      );
    const runner = this.pool.run(definition, {
      ...claimed,
      before: this.resumeEvent(how, definition),
    });
    await runner.written; // the command's event is durable before it returns
  }

  private resumeEvent(how: Resumption, definition: SagaDefinition<unknown>): EventDraft {
    if (how === "retry") {
      const timeoutMs = definition.plan.timeoutMs;
      return {
        type: "SagaRetried",
        deadlineAt: timeoutMs === null ? null : deadlineBase(this.clock) + timeoutMs,
      };
    }
    return {
      type: "SagaCompensationStarted",
      reason: "requested",
      error: {
        name: "SagaError",
        code: ErrorCodes.SAGA_COMPENSATION_REQUESTED,
        message: "compensation of the completed saga was requested",
        retryable: false,
      },
    };
  }
}
