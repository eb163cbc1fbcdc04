import { ErrorCodes, SagaError } from "../core/errors.js";
import type { SagaEvent } from "../core/events.js";
import type { SagaState, SagaStatus } from "../core/state.js";
import type {
  CancelRequestResult,
  ClaimByIdRequest,
  ClaimDueResult,
  ClaimRequest,
  Claimed,
  Commit,
  CommitResult,
  CreateResult,
  LeaseRef,
  NewSaga,
  RenewedLease,
} from "../engine/store-port.js";
import { CLAIM_BY_ID } from "./sql/claim-by-id.js";
import { CLAIM_DUE } from "./sql/claim-due.js";
import { COMMIT_FAILURES } from "./sql/commit-failures.js";
import { COMMIT_SAGAS, COMMIT_SAGAS_LEAN } from "./sql/commit-sagas.js";
import { CREATE_SAGAS, CREATE_SAGAS_LEAN } from "./sql/create-sagas.js";
import { outboxRows, type OutboxInsertRow } from "./outbox-rows.js";
import { stateJson, unpackState, type StoredState } from "./state-codec.js";
import { DB_NOW } from "./sql/db-now.js";
import { FIND_BY_IDEMPOTENCY_KEYS } from "./sql/find-by-idempotency-keys.js";
import { RELEASE_LEASES } from "./sql/release-leases.js";
import { RENEW_LEASES } from "./sql/renew-leases.js";
import { REQUEST_CANCEL } from "./sql/request-cancel.js";
import type { SqlClient } from "./sql-client.js";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface ClaimedRow {
  id: string;
  state: StoredState;
  epoch: number;
  cancel_requested: boolean;
}

/**
 * Writing sagas under leases (the SagaWriter port): creates and fenced commits of many sagas in one
 * statement each (group commit), claims, lease renewals and releases, and cancel requests.
 */
/** The database clock, in milliseconds since the epoch. */
export async function dbNow(sql: SqlClient): Promise<number> {
  const [row] = await sql.query<{ now: number }>(DB_NOW);
  return Number(row?.now);
}

export class SqlSagaWrites {
  constructor(private readonly sql: SqlClient) {}

  async create(batch: readonly NewSaga[]): Promise<CreateResult[]> {
    if (batch.length === 0) return [];
    const effects = new SideEffects();
    const sagas = batch.map((s, ord) => {
      const suspends = effects.add(s.state, 0, s.events, s.outbox, s.parentSignal);
      return {
        id: s.state.id,
        tenant_id: s.state.tenantId,
        name: s.state.name,
        version: s.state.version,
        status: s.state.status,
        stream_version: s.state.seq,
        idempotency_key: s.state.idempotencyKey,
        attributes: s.state.attributes,
        lease_owner: s.leaseOwner,
        ...whereNext(s, suspends),
        ord,
      };
    });
    let events = "";
    for (const s of batch) events = eventRowsJson(events, s.state.id, 0, s.events);
    const sagasJson = rowsWithState(
      sagas,
      batch.map((s) => s.state),
    );
    const rows = await this.sql.query<{ id: string }>(
      effects.lean ? CREATE_SAGAS_LEAN : CREATE_SAGAS,
      effects.params(sagasJson, events),
    );
    const inserted = new Set(rows.map((r) => r.id));
    const missing = batch.filter((s) => !inserted.has(s.state.id));
    const existing = new Map<string, SagaState>();
    if (missing.length > 0) {
      const keys = missing.map((s) => ({
        tenant_id: s.state.tenantId,
        key: s.state.idempotencyKey,
      }));
      const found = await this.sql.query<{
        tenant_id: string;
        idempotency_key: string;
        state: StoredState;
      }>(FIND_BY_IDEMPOTENCY_KEYS, [JSON.stringify(keys)]);
      for (const row of found)
        existing.set(`${row.tenant_id}\u0000${row.idempotency_key}`, unpackState(row.state));
    }
    return batch.map((s): CreateResult => {
      if (inserted.has(s.state.id)) {
        return {
          created: true,
          sagaId: s.state.id,
          lease: s.leaseOwner === null ? null : { sagaId: s.state.id, epoch: 1 },
        };
      }
      const prior = existing.get(`${s.state.tenantId}\u0000${s.state.idempotencyKey ?? ""}`);
      if (!prior)
        throw new Error(`saga ${s.state.id} was neither inserted nor found by its idempotency key`);
      return { created: false, sagaId: prior.id, existing: prior };
    });
  }

  async commit(batch: readonly Commit[]): Promise<CommitResult[]> {
    if (batch.length === 0) return [];
    const effects = new SideEffects();
    const sagas = batch.map((c) => {
      const suspends = effects.add(c.state, c.expectedSeq, c.events, c.outbox, c.parentSignal);
      return {
        id: c.lease.sagaId,
        owner: c.owner,
        epoch: c.lease.epoch,
        expected: c.expectedSeq,
        status: c.state.status,
        stream_version: c.state.seq,
        release: c.release,
        ...whereNext(c, suspends),
      };
    });
    let events = "";
    for (const c of batch) events = eventRowsJson(events, c.lease.sagaId, c.expectedSeq, c.events);
    type Row = { id: string; cancel_requested: boolean };
    const sagasJson = rowsWithState(
      sagas,
      batch.map((c) => c.state),
    );
    const rows = await this.sql.query<Row>(
      effects.lean ? COMMIT_SAGAS_LEAN : COMMIT_SAGAS,
      effects.params(sagasJson, events),
    );
    const written = new Map(rows.map((r) => [r.id, r.cancel_requested]));
    const refused = batch.filter((c) => !written.has(c.lease.sagaId));
    const why =
      refused.length > 0 ? await this.explainRefusals(refused) : new Map<string, SagaError>();
    return batch.map((c): CommitResult => {
      const cancel = written.get(c.lease.sagaId);
      if (cancel !== undefined) return { ok: true, cancelRequested: cancel };
      return { ok: false, error: why.get(c.lease.sagaId)! };
    });
  }

  /** Reads why writes were refused (only on that rare path): a version conflict or a lost lease. */
  private async explainRefusals(refused: readonly Commit[]): Promise<Map<string, SagaError>> {
    const rows = await this.sql.query<{
      id: string;
      stream_version: number;
      lease_owner: string | null;
      epoch: number;
      lease_live: boolean;
    }>(COMMIT_FAILURES, [JSON.stringify(refused.map((c) => c.lease.sagaId))]);
    const current = new Map(rows.map((r) => [r.id, r]));
    const errors = new Map<string, SagaError>();
    for (const c of refused) {
      const row = current.get(c.lease.sagaId);
      const leaseHeld =
        row !== undefined &&
        row.lease_owner === c.owner &&
        Number(row.epoch) === c.lease.epoch &&
        row.lease_live;
      errors.set(
        c.lease.sagaId,
        !row
          ? new SagaError(ErrorCodes.SAGA_NOT_FOUND, `no saga ${c.lease.sagaId}`, {
              retryable: false,
            })
          : leaseHeld
            ? new SagaError(
                ErrorCodes.SAGA_VERSION_CONFLICT,
                `saga ${c.lease.sagaId} is at version ${row.stream_version}, not the expected ${c.expectedSeq}`,
                { retryable: false },
              )
            : new SagaError(
                ErrorCodes.SAGA_LEASE_LOST,
                `the lease of ${c.owner} (epoch ${c.lease.epoch}) on saga ${c.lease.sagaId} expired or was taken over`,
                { retryable: false },
              ),
      );
    }
    return errors;
  }

  async claimDue(request: ClaimRequest): Promise<ClaimDueResult> {
    const now = await dbNow(this.sql);
    if (request.types.length === 0 || request.limit <= 0) return { now, claimed: [] };
    const rows = await this.sql.query<ClaimedRow>(CLAIM_DUE, [
      request.owner,
      request.limit,
      JSON.stringify(request.types.map((t) => ({ name: t.name, version: t.version }))),
      Math.ceil(request.leaseMs),
    ]);
    return { now, claimed: rows.map(toClaimed) };
  }

  async claimById(request: ClaimByIdRequest): Promise<Claimed | null> {
    if (!UUID.test(request.sagaId)) return null;
    const [row] = await this.sql.query<ClaimedRow>(CLAIM_BY_ID, [
      request.sagaId,
      request.tenantId,
      request.owner,
      Math.ceil(request.leaseMs),
      JSON.stringify(request.statuses),
      request.onlyIfDue,
    ]);
    return row ? toClaimed(row) : null;
  }

  async renewLeases(
    owner: string,
    leases: readonly LeaseRef[],
    leaseMs: number,
  ): Promise<RenewedLease[]> {
    if (leases.length === 0) return [];
    const rows = await this.sql.query<{ id: string; cancel_requested: boolean }>(RENEW_LEASES, [
      owner,
      JSON.stringify(leases.map((l) => ({ id: l.sagaId, epoch: l.epoch }))),
      Math.ceil(leaseMs),
    ]);
    return rows.map((r) => ({ sagaId: r.id, cancelRequested: r.cancel_requested }));
  }

  async releaseLeases(owner: string, leases: readonly LeaseRef[]): Promise<void> {
    if (leases.length === 0) return;
    await this.sql.query(RELEASE_LEASES, [
      owner,
      JSON.stringify(leases.map((l) => ({ id: l.sagaId, epoch: l.epoch }))),
    ]);
  }

  async requestCancel(tenantId: string, sagaId: string): Promise<CancelRequestResult> {
    if (!UUID.test(sagaId)) return { found: false };
    const [row] = await this.sql.query<{
      status: SagaStatus;
      lease_owner: string | null;
      accepted: boolean;
    }>(REQUEST_CANCEL, [sagaId, tenantId]);
    if (!row) return { found: false };
    return { found: true, status: row.status, leaseOwner: row.lease_owner, accepted: row.accepted };
  }
}

/** Whether waits or inbox rows may need work for this write (a step suspends or was suspended). */
function touchesSuspension(state: SagaState, events: readonly SagaEvent[]): boolean {
  return (
    events.some(
      (e) =>
        e.type === "StepSuspended" ||
        (e.type === "StepCompleted" && e.signalId !== undefined) ||
        e.type === "StepFailed" ||
        e.type === "StepAborted" ||
        e.type === "SagaCompensationStarted",
    ) || anySuspended(state)
  );
}

function anySuspended(state: SagaState): boolean {
  for (const name in state.steps) if (state.steps[name]!.status === "suspended") return true;
  return false;
}

/**
 * What the writes of a batch imply besides projections and events: outbox rows, waits and inbox
 * (a saga that suspends or was suspended), a child's end signalled to its parent. Without any,
 * the batch goes through the lean statement.
 */
class SideEffects {
  lean = true;
  private readonly outbox: OutboxInsertRow[] = [];

  /** Records one saga's write (`fromSeq`: its version before); returns its `suspends` flag. */
  add(
    state: SagaState,
    fromSeq: number,
    events: readonly SagaEvent[],
    lifecycle: boolean | undefined,
    parentSignal: unknown,
  ): boolean {
    const suspends = touchesSuspension(state, events);
    const rows = outboxRows(state, fromSeq, events, lifecycle ?? false);
    if (rows.length > 0) this.outbox.push(...rows);
    if (suspends || rows.length > 0 || parentSignal) this.lean = false;
    return suspends;
  }

  /** The statement's parameters (`eventsJson`: rows joined by `eventRowsJson`); the full statement takes the outbox rows as $3. */
  params(sagasJson: string, eventsJson: string): string[] {
    const base = [sagasJson, `[${eventsJson}]`];
    return this.lean ? base : [...base, JSON.stringify(this.outbox)];
  }
}

/** The JSON array of rows, each with its saga's stored state (`stateJson`) as `state`. */
function rowsWithState(rows: readonly object[], states: readonly SagaState[]): string {
  let out = "[";
  for (let i = 0; i < rows.length; i++) {
    const row = JSON.stringify(rows[i]);
    out += `${i === 0 ? "" : ","}${row.slice(0, -1)},"state":${stateJson(states[i]!)}}`;
  }
  return `${out}]`;
}

/** The columns of a create or a commit that say what follows the write: lease, wake, outbox, parent. */
function whereNext(w: NewSaga | Commit, suspends: boolean) {
  return {
    lease_ms: Math.ceil(w.leaseMs),
    wake_at: w.wakeAt,
    dormant: w.dormant ?? false,
    suspends,
    outbox: w.outbox ?? false,
    parent_signal: w.parentSignal ?? null,
  };
}

/**
 * Appends one saga's event rows (`{saga_id, seq, type, data, at}`, comma-separated) to `json`:
 * built as text, so each event is serialized once and no row object is made for it.
 */
function eventRowsJson(
  json: string,
  sagaId: string,
  fromSeq: number,
  events: readonly SagaEvent[],
): string {
  const id = JSON.stringify(sagaId);
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    json += `${json === "" ? "" : ","}{"saga_id":${id},"seq":${fromSeq + i + 1},"type":${JSON.stringify(event.type)},"data":${JSON.stringify(event)},"at":${JSON.stringify(event.at)}}`;
  }
  return json;
}

function toClaimed(row: ClaimedRow): Claimed {
  return {
    state: unpackState(row.state),
    lease: { sagaId: row.id, epoch: Number(row.epoch) },
    cancelRequested: row.cancel_requested,
  };
}
