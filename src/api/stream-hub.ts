import { ErrorCodes } from "../core/errors.js";
import type { SagaEvent } from "../core/events.js";
import type { SagaState } from "../core/state.js";
import type { CommitListener } from "../engine/observer.js";
import { HttpError } from "./http-errors.js";

/** One open SSE stream, as the hub sees it. */
export interface StreamSubscriber {
  /** Events just committed by this process for the saga the stream follows. */
  onCommitted(state: SagaState, events: readonly SagaEvent[]): void;
  /** Ends the stream (shutdown). */
  end(): void;
}

export interface StreamCaps {
  perPrincipal: number;
  perTenant: number;
  total: number;
}

/** What `open` hands back: the registration to release when the stream ends. */
export interface StreamLease {
  release(): void;
}

/**
 * The open SSE streams of one server: counts them per principal, per tenant and in all (429
 * `TOO_MANY_STREAMS` beyond a cap) and indexes them by saga, so that a commit reaches only the
 * streams of its saga (one map lookup, not a scan of every stream).
 */
export class StreamHub {
  private readonly bySaga = new Map<string, Set<StreamSubscriber>>();
  private readonly perPrincipal = new Map<string, number>();
  private readonly perTenant = new Map<string, number>();
  private total = 0;

  constructor(private readonly caps: StreamCaps) {}

  /** The commit listener to register once on the orchestrator. */
  readonly listener: CommitListener = (state, events) => {
    const subscribers = this.bySaga.get(key(state.tenantId, state.id));
    if (!subscribers) return;
    for (const s of [...subscribers]) s.onCommitted(state, events);
  };

  /** Streams open now. */
  get size(): number {
    return this.total;
  }

  /** Streams following this saga now. */
  subscribersOf(tenantId: string, sagaId: string): number {
    return this.bySaga.get(key(tenantId, sagaId))?.size ?? 0;
  }

  /**
   * Counts a new stream of `principal` (tenant-scoped) on a saga, or throws 429 TOO_MANY_STREAMS
   * naming the cap it would pass. The caller must `release` the lease when the stream ends.
   */
  open(
    tenantId: string,
    principal: string,
    sagaId: string,
    subscriber: StreamSubscriber,
  ): StreamLease {
    const who = key(tenantId, principal);
    const checks: [string, number, number][] = [
      ["principal", this.perPrincipal.get(who) ?? 0, this.caps.perPrincipal],
      ["tenant", this.perTenant.get(tenantId) ?? 0, this.caps.perTenant],
      ["server", this.total, this.caps.total],
    ];
    for (const [scope, count, cap] of checks) {
      if (count >= cap)
        throw new HttpError(
          429,
          ErrorCodes.TOO_MANY_STREAMS,
          `${cap} streams are open for this ${scope} already; close one first`,
          { scope, limit: cap },
        );
    }
    this.perPrincipal.set(who, (this.perPrincipal.get(who) ?? 0) + 1);
    this.perTenant.set(tenantId, (this.perTenant.get(tenantId) ?? 0) + 1);
    this.total++;
    const sagaKey = key(tenantId, sagaId);
    let set = this.bySaga.get(sagaKey);
    if (!set) this.bySaga.set(sagaKey, (set = new Set()));
    set.add(subscriber);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        decrement(this.perPrincipal, who);
        decrement(this.perTenant, tenantId);
        const subs = this.bySaga.get(sagaKey);
        subs?.delete(subscriber);
        if (subs?.size === 0) this.bySaga.delete(sagaKey);
      },
    };
  }

  /** Ends every open stream (server shutdown; clients resume with Last-Event-ID). */
  endAll(): void {
    for (const set of [...this.bySaga.values()]) for (const s of [...set]) s.end();
  }
}

const key = (a: string, b: string) => `${a}\u0000${b}`;

function decrement(map: Map<string, number>, k: string): void {
  const n = (map.get(k) ?? 0) - 1;
  if (n <= 0) map.delete(k);
  else map.set(k, n);
}
