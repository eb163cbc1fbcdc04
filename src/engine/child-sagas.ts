import { ErrorCodes, SagaError, toErrorInfo } from "../core/errors.js";
import { childKey, type ChildSagaPort } from "./child-saga-port.js";
import type { ParentRef, SagaEvent } from "../core/events.js";
import type { SagaState } from "../core/state.js";
import type { Logger } from "./logger.js";
import type { ResultWaiter } from "./result-waiter.js";
import type { SagaCommands } from "./saga-commands.js";
import type { SagaStarter } from "./saga-starter.js";
import type { SagaReader } from "./store-port.js";

/**
 * Child sagas, all in one place: a `saga` step starts its child with the step's idempotency key
 * and suspends; the child's end is delivered to that step (`parentSignal`, written with the
 * child's last commit); compensating the step compensates the child; a parent that starts
 * compensating while its child runs cancels the child (`onCommitted`).
 *
 * A runner starts children through the starter, which runs them in the runner pool, which holds
 * the runners: so the starter and the commands are attached after construction.
 */
export class ChildSagas implements ChildSagaPort {
  private starter: SagaStarter | null = null;
  private commands: SagaCommands | null = null;

  constructor(
    private readonly reader: Pick<SagaReader, "getSaga" | "findByIdempotencyKey">,
    private readonly waiter: ResultWaiter,
    private readonly logger: Logger,
  ) {}

  attach(starter: SagaStarter, commands: SagaCommands): void {
    this.starter = starter;
    this.commands = commands;
  }

  async start(
    parent: ParentRef,
    state: SagaState,
    type: string,
    input: unknown,
    version?: number,
  ): Promise<string> {
    const started = await this.wired().starter.start({
      tenantId: state.tenantId,
      name: type,
      input,
      idempotencyKey: childKey(parent),
      ...(state.correlationId ? { correlationId: state.correlationId } : {}),
      ...(version !== undefined ? { version } : {}),
      parent,
    });
    return started.sagaId;
  }

  async compensate(tenantId: string, sagaId: string, signal: AbortSignal): Promise<void> {
    const child = await this.reader.getSaga(tenantId, sagaId);
    if (!child || child.state.status !== "completed") return; // nothing completed to undo
    await this.wired().commands.resume(tenantId, sagaId, "compensate");
    const result = await Promise.race([
      this.waiter.wait(tenantId, sagaId),
      new Promise<never>((_, reject) =>
        signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }),
      ),
    ]);
    if (result.status !== "compensated") {
      throw new SagaError(
        ErrorCodes.CHILD_SAGA_FAILED,
        `child saga ${sagaId} could not be compensated: it is ${result.status}`,
      );
    }
  }

  /**
   * A commit listener: a parent that starts compensating while a child saga runs (its step was
   * suspended, now aborted) cancels that child, so that the child undoes itself instead of
   * running on.
   */
  onCommitted(state: SagaState, events: readonly SagaEvent[]): void {
    if (!events.some((e) => e.type === "SagaCompensationStarted")) return;
    const aborted = Object.entries(state.steps).filter(([, s]) => s.status === "aborted");
    for (const [step] of aborted) {
      void this.reader
        .findByIdempotencyKey(state.tenantId, childKey({ sagaId: state.id, step }))
        .then(async (child) => {
          if (child?.parent?.sagaId === state.id && child.status === "running") {
            await this.wired().commands.cancel(state.tenantId, child.id);
          }
        })
        .catch((error: unknown) =>
          this.logger.warn(
            { sagaId: state.id, step, err: toErrorInfo(error) },
            "could not cancel the child saga of an aborted step",
          ),
        );
    }
  }

  private wired(): { starter: SagaStarter; commands: SagaCommands } {
    if (!this.starter || !this.commands) throw new Error("ChildSagas used before attach()");
    return { starter: this.starter, commands: this.commands };
  }
}
