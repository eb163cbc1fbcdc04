import type { SagaState } from "../core/state.js";
import { isSettled } from "../core/state.js";
import { toResult, type SagaResult } from "./saga-result.js";
import type { SagaReader } from "./store-port.js";
import { closedError, sagaNotFound } from "./engine-errors.js";

/**
 * Waits for sagas to settle (completed, compensated, or failed waiting for an operator). A saga
 * running here says so when its run ends (`settled`), with no store read; one run elsewhere is
 * read from the store every `pollMs` (and every 8 × `pollMs` as a safety net for local ones).
 */
export class ResultWaiter {
  private readonly waiters = new Map<string, Set<(state: SagaState) => void>>();
  private closed = false;

  constructor(
    private readonly reader: Pick<SagaReader, "getSaga">,
    private readonly runningHere: (sagaId: string) => boolean,
    private readonly pollMs: number,
  ) {}

  /** A saga run here settled: wake whoever waits for it. */
  settled(state: SagaState): void {
    const waiting = this.waiters.get(state.id);
    if (!waiting) return;
    this.waiters.delete(state.id);
    for (const resolve of waiting) resolve(state);
  }

  /** After close: waits still pending end with SAGA_CLOSED at their next look. */
  close(): void {
    this.closed = true;
  }

  async wait(tenantId: string, sagaId: string): Promise<SagaResult> {
    for (;;) {
      // Listen before reading, so that an end between the read and the wait is not missed.
      const local = this.runningHere(sagaId);
      const { next, stop } = this.listen(sagaId, this.pollMs * (local ? 8 : 1));
      if (!local) {
        const saga = await this.reader.getSaga(tenantId, sagaId).catch((error: unknown) => {
          stop();
          throw error;
        });
        if (!saga) {
          stop();
          throw sagaNotFound(sagaId);
        }
        if (isSettled(saga.state.status)) {
          stop();
          return toResult(saga.state);
        }
      }
      const state = await next;
      stop();
      if (state && isSettled(state.status) && state.tenantId === tenantId) return toResult(state);
      if (this.closed) throw closedError();
    }
  }

  /** Resolves with the state when the saga settles here, or null after `timeoutMs` or `stop()`. */
  private listen(
    sagaId: string,
    timeoutMs: number,
  ): { next: Promise<SagaState | null>; stop: () => void } {
    let stop = (): void => undefined;
    const next = new Promise<SagaState | null>((resolve) => {
      const set = this.waiters.get(sagaId) ?? new Set();
      set.add(resolve);
      this.waiters.set(sagaId, set);
      const timer = setTimeout(() => resolve(null), timeoutMs);
      stop = () => {
        clearTimeout(timer);
        set.delete(resolve);
        if (set.size === 0 && this.waiters.get(sagaId) === set) this.waiters.delete(sagaId);
        resolve(null);
      };
    });
    return { next, stop };
  }
}
