/**
 * The checker: reads the event store, the downstream ledger and what the bus delivered, and
 * computes every figure of the chaos report. It trusts nothing the workers say about outcomes;
 * their markers only say which process ran which attempt when.
 */
import { isDeepStrictEqual } from "node:util";
import type pg from "pg";
import { ErrorCodes } from "../../src/core/errors.js";
import type { SagaEvent } from "../../src/core/events.js";
import { replay } from "../../src/core/reducer.js";
import { unpackState, type StoredState } from "../../src/store/state-codec.js";
import type { DownstreamSimulator, LedgerEntry } from "../../src/testing/downstream-simulator.js";
import type { ChaosInput, EffectBody } from "./workload.js";
import { STEPS } from "./workload.js";

export interface Observations {
  acks: Map<string, { sagaId: string; at: number; worker: string }>;
  startErrors: number;
  cancels: Map<string, string>;
  markers: {
    sagaId: string;
    step: string;
    phase: "do" | "undo";
    attempt: number;
    worker: string;
    at: number;
  }[];
  timeline: { at: number; kind: string; target: string }[];
  eventPublishes: Map<string, number[]>;
  busMessages: { id: string; type: string; key: string | null }[];
  workerErrors: string[];
}

export interface Figures {
  sagas: number;
  byKind: Record<string, number>;
  outcomes: Record<string, number>;
  acknowledgedStarts: number;
  acknowledgedStartsLost: number;
  acknowledgedLostExamples: string[];
  stuckExamples: string[];
  startErrorsRetried: number;
  terminalOutcomesDuplicated: number;
  wrongOutcomes: number;
  /** orchestrator.cancel() resolved, yet the saga completed: the request met its last step. */
  cancelAcceptedButCompleted: number;
  wrongOutcomeExamples: string[];
  crashLoops: number;
  lostAttempts: number;
  completedStepsCompensatedOtherThanOnce: number;
  compensationsOutOfReverseOrder: number;
  compensationEffectsOfStepsNeverCompleted: number;
  completedStepsWithoutEffect: number;
  duplicateStepExecutions: number;
  duplicatesWithSameKey: number;
  staleOutcomesAccepted: number;
  storedStateNotReplay: number;
  supersededAttemptEffectsAfterTakeover: number;
  unexplainedTakeovers: number;
  unexplainedTakeoverExamples: string[];
  timersFiredEarly: number;
  timersChecked: number;
  timerMinMarginMs: number | null;
  eventsPublished: number;
  eventsRepublished: number;
  cancelsAccepted: number;
  cancelsUnanswered: number;
  busLifecycleExpected: number;
  busLifecycleSeen: number;
  busLifecycleMissing: number;
  busMissingByType: Record<string, number>;
  busDuplicateDeliveries: number;
  stuck: number;
  drainMs: number;
  workerErrorSamples: string[];
}

const LIFECYCLE_TYPES: Partial<Record<SagaEvent["type"], string>> = {
  SagaStarted: "saga.started",
  StepCompleted: "saga.step.completed",
  StepFailed: "saga.step.failed",
  SagaCompensationStarted: "saga.compensating",
  SagaCompleted: "saga.completed",
  SagaCompensated: "saga.compensated",
  SagaFailed: "saga.failed",
};

const TERMINAL = new Set(["SagaCompleted", "SagaCompensated", "SagaFailed"]);

export async function check(
  db: pg.Pool,
  sim: DownstreamSimulator,
  obs: Observations,
  context: { leaseMs: number; stuckAfterDrain: number; drainMs: number },
): Promise<Figures> {
  const instances = (
    await db.query<{
      id: string;
      name: string;
      status: string;
      state: StoredState;
      idempotency_key: string | null;
    }>(`SELECT id::text AS id, name, status, state, idempotency_key FROM saga_instances`)
  ).rows;
  const eventRows = (
    await db.query<{ saga_id: string; data: SagaEvent }>(
      `SELECT saga_id::text AS saga_id, data FROM saga_events ORDER BY saga_id, seq`,
    )
  ).rows;
  const streams = new Map<string, SagaEvent[]>();
  for (const row of eventRows) {
    const list = streams.get(row.saga_id) ?? [];
    list.push(row.data);
    streams.set(row.saga_id, list);
  }
  const ledger = sim.ledger();
  const byKey = new Map<string, LedgerEntry[]>();
  for (const entry of ledger) {
    if (!entry.idempotencyKey) continue;
    const list = byKey.get(entry.idempotencyKey) ?? [];
    list.push(entry);
    byKey.set(entry.idempotencyKey, list);
  }
  const effectsOf = (key: string) => (byKey.get(key) ?? []).filter((e) => e.effect && !e.replayed);
  const markersBy = new Map<string, Observations["markers"]>();
  for (const m of obs.markers) {
    const k = `${m.sagaId}|${m.step}|${m.phase}`;
    const list = markersBy.get(k) ?? [];
    list.push(m);
    markersBy.set(k, list);
  }

  const f: Figures = {
    sagas: instances.length,
    byKind: {},
    outcomes: {},
    acknowledgedStarts: obs.acks.size,
    acknowledgedStartsLost: 0,
    acknowledgedLostExamples: [],
    stuckExamples: [],
    startErrorsRetried: obs.startErrors,
    terminalOutcomesDuplicated: 0,
    wrongOutcomes: 0,
    cancelAcceptedButCompleted: 0,
    wrongOutcomeExamples: [],
    crashLoops: 0,
    lostAttempts: 0,
    completedStepsCompensatedOtherThanOnce: 0,
    compensationsOutOfReverseOrder: 0,
    compensationEffectsOfStepsNeverCompleted: 0,
    completedStepsWithoutEffect: 0,
    duplicateStepExecutions: 0,
    duplicatesWithSameKey: 0,
    staleOutcomesAccepted: 0,
    storedStateNotReplay: 0,
    supersededAttemptEffectsAfterTakeover: 0,
    unexplainedTakeovers: 0,
    unexplainedTakeoverExamples: [],
    timersFiredEarly: 0,
    timersChecked: 0,
    timerMinMarginMs: null,
    eventsPublished: 0,
    eventsRepublished: 0,
    cancelsAccepted: 0,
    cancelsUnanswered: 0,
    busLifecycleExpected: 0,
    busLifecycleSeen: 0,
    busLifecycleMissing: 0,
    busMissingByType: {},
    busDuplicateDeliveries: 0,
    stuck: context.stuckAfterDrain,
    drainMs: context.drainMs,
    workerErrorSamples: obs.workerErrors.slice(0, 20),
  };

  // Acknowledged starts: each must be a saga, the one the acknowledgement named.
  const byIdempotencyKey = new Map(instances.map((i) => [i.idempotency_key, i.id]));
  for (const [key, ack] of obs.acks) {
    if (byIdempotencyKey.get(key) !== ack.sagaId) {
      f.acknowledgedStartsLost++;
      if (f.acknowledgedLostExamples.length < 10)
        f.acknowledgedLostExamples.push(
          `${key} acked as ${ack.sagaId} by ${ack.worker} at ${ack.at}; stored: ${byIdempotencyKey.get(key) ?? "none"}`,
        );
    }
  }

  const expectedMessages = new Map<string, string>();
  for (const row of instances) {
    const events = streams.get(row.id) ?? [];
    const stored = unpackState(row.state);
    const replayed = replay(events);
    if (
      !replayed ||
      !isDeepStrictEqual(JSON.parse(JSON.stringify(replayed)), JSON.parse(JSON.stringify(stored)))
    )
      f.storedStateNotReplay++;
    const state = replayed ?? stored;
    if (
      (state.status === "running" || state.status === "compensating") &&
      f.stuckExamples.length < 10
    ) {
      const steps = Object.entries(state.steps)
        .map(([name, st]) => `${name}:${st.status}/${st.attempts}`)
        .join(",");
      f.stuckExamples.push(
        `${row.id} ${state.name} ${state.status} [${steps}] last=${events.at(-1)?.type}@${events.at(-1)?.at}`,
      );
    }
    const input = state.input as ChaosInput;
    f.byKind[input.kind] = (f.byKind[input.kind] ?? 0) + 1;
    f.outcomes[state.status] = (f.outcomes[state.status] ?? 0) + 1;
    if (events.filter((e) => TERMINAL.has(e.type)).length > 1) f.terminalOutcomesDuplicated++;

    for (const [i, e] of events.entries()) {
      const type = LIFECYCLE_TYPES[e.type];
      if (type) expectedMessages.set(`${row.id}|${i + 1}`, type);
    }

    // Outcomes: a crash must not decide one.
    const crashLoop = events.some(
      (e) =>
        (e.type === "StepFailed" || e.type === "StepCompensationFailed") &&
        e.error.code === ErrorCodes.SAGA_CRASH_LOOP,
    );
    if (crashLoop) f.crashLoops++;
    for (const s of Object.values(state.steps))
      f.lostAttempts += s.lostAttempts + s.compensationLostAttempts;
    const cancel = obs.cancels.get(row.id);
    if (cancel === "accepted") f.cancelsAccepted++;
    if (cancel === "sent") f.cancelsUnanswered++;
    const isChild = input.key.endsWith(":child");
    const cancelledByEvents = events.some(
      (e) => e.type === "SagaCompensationStarted" && e.reason === "cancelled",
    );
    let expected: string | null;
    if (cancel === "accepted") expected = "compensated";
    else if (cancel === "sent")
      expected = null; // the worker died before answering
    else if (input.failAt !== null && !isChild) expected = "compensated";
    else expected = "completed";
    if (cancelledByEvents && cancel === undefined) expected = null;
    if (state.status === "running" || state.status === "compensating") expected = null; // counted as stuck
    if (cancel === "accepted" && state.status === "completed") {
      f.cancelAcceptedButCompleted++;
      expected = null;
    }
    if (expected !== null && state.status !== expected && !crashLoop) {
      f.wrongOutcomes++;
      if (f.wrongOutcomeExamples.length < 10)
        f.wrongOutcomeExamples.push(
          `${row.id} ${input.kind} failAt=${input.failAt} cancel=${cancel} -> ${state.status} (${state.error?.code ?? ""})`,
        );
    }

    // Compensations: each completed compensable step exactly once, in reverse completion order.
    const compensable = new Set(STEPS[input.kind].compensable);
    const completed = state.completionOrder.filter((s) => compensable.has(s));
    const compensatedEvents = events
      .filter((e) => e.type === "StepCompensated")
      .map((e) => (e as { step: string }).step);
    if (state.status === "compensated") {
      for (const step of completed) {
        const n = compensatedEvents.filter((s) => s === step).length;
        if (n !== 1 || effectsOf(`${row.id}:${step}:compensate`).length !== 1)
          f.completedStepsCompensatedOtherThanOnce++;
      }
      if (!isDeepStrictEqual(compensatedEvents, [...completed].reverse()))
        f.compensationsOutOfReverseOrder++;
      const firstUndo = completed
        .map((s) => effectsOf(`${row.id}:${s}:compensate`)[0]?.seq ?? -1)
        .reverse();
      if (firstUndo.some((seq, i) => i > 0 && seq < firstUndo[i - 1]!))
        f.compensationsOutOfReverseOrder++;
    }
    for (const step of compensable) {
      if (
        !state.completionOrder.includes(step) &&
        effectsOf(`${row.id}:${step}:compensate`).length > 0
      )
        f.compensationEffectsOfStepsNeverCompleted++;
      if (state.completionOrder.includes(step) && effectsOf(`${row.id}:${step}`).length !== 1)
        f.completedStepsWithoutEffect++;
    }

    // Outcomes recorded for an attempt that was not the step's latest: a stale holder's write.
    const latest = new Map<string, number>();
    for (const e of events) {
      if (e.type === "StepStarted") latest.set(`do|${e.step}`, e.attempt);
      if (e.type === "StepCompensationStarted") latest.set(`undo|${e.step}`, e.attempt);
      if (
        (e.type === "StepCompleted" || e.type === "StepFailed" || e.type === "StepAborted") &&
        latest.get(`do|${e.step}`) !== e.attempt
      )
        f.staleOutcomesAccepted++;
      if (
        (e.type === "StepCompensated" || e.type === "StepCompensationFailed") &&
        latest.get(`undo|${e.step}`) !== e.attempt
      )
        f.staleOutcomesAccepted++;
    }

    // Takeovers: a new attempt after a lost one must have a reason (its holder died, was
    // paused, or lost the database); otherwise the lease was taken early.
    for (const phase of ["do", "undo"] as const) {
      const starts = events.filter(
        (e) => e.type === (phase === "do" ? "StepStarted" : "StepCompensationStarted"),
      ) as { step: string; attempt: number; at: number }[];
      for (const [i, next] of starts.entries()) {
        const prev = starts
          .slice(0, i)
          .reverse()
          .find((s) => s.step === next.step);
        if (!prev || prev.attempt !== next.attempt - 1) continue;
        const outcomeBetween = events.some(
          (e) =>
            "step" in e &&
            e.step === next.step &&
            "attempt" in e &&
            e.attempt === prev.attempt &&
            e.type !== "StepStarted" &&
            e.type !== "StepCompensationStarted",
        );
        if (outcomeBetween) continue;
        const markers = markersBy.get(`${row.id}|${next.step}|${phase}`) ?? [];
        const holder = markers.find((m) => m.attempt === prev.attempt);
        // Effects of the superseded attempt made after its successor started (deduplicated by key).
        const key = phase === "do" ? `${row.id}:${next.step}` : `${row.id}:${next.step}:compensate`;
        for (const entry of byKey.get(key) ?? []) {
          const body = entry.body as EffectBody | null;
          if (body && body.attempt === prev.attempt && Date.parse(entry.at) > next.at)
            f.supersededAttemptEffectsAfterTakeover++;
        }
        if (!holder) continue; // the holder never reached the action (died before): explained
        const excused = obs.timeline.some(
          (t) =>
            t.at >= Math.min(holder.at, prev.at) - 1_000 &&
            t.at <= next.at &&
            (t.target === holder.worker || t.target === "postgres"),
        );
        if (!excused) {
          f.unexplainedTakeovers++;
          if (f.unexplainedTakeoverExamples.length < 10)
            f.unexplainedTakeoverExamples.push(
              `${row.id} ${phase} ${next.step} attempt ${prev.attempt} on ${holder.worker} at ${holder.at}, taken over at ${next.at}`,
            );
        }
      }
    }

    // Timers: the step after the durable sleep must not begin before the sleep ran out.
    if (input.kind === "timer" && state.completionOrder.includes("s3")) {
      const before = effectsOf(`${row.id}:s1`);
      const after = (byKey.get(`${row.id}:s3`) ?? [])[0];
      // The sleep began after s1 completed, so after the call of the attempt that completed it.
      // Not after the latest s1 call of any attempt: a superseded attempt (its worker paused past
      // the lease) may call s1 again seconds after its successor completed it and the sleep began,
      // and counting from that call reported sleeps that had lasted their full time as early.
      const completedBy = events.find((e) => e.type === "StepCompleted" && e.step === "s1");
      const completedAttempt = completedBy?.type === "StepCompleted" ? completedBy.attempt : null;
      const s1Calls = byKey.get(`${row.id}:s1`) ?? [];
      const ofCompleting = s1Calls.filter(
        (e) => (e.body as EffectBody | null)?.attempt === completedAttempt,
      );
      const sleepBeganAfter = Math.min(
        ...(ofCompleting.length > 0 ? ofCompleting : s1Calls).map((e) => Date.parse(e.at)),
      );
      if (before.length > 0 && after) {
        f.timersChecked++;
        const margin = Date.parse(after.at) - sleepBeganAfter - input.sleepMs;
        f.timerMinMarginMs =
          f.timerMinMarginMs === null ? margin : Math.min(f.timerMinMarginMs, margin);
        if (margin < 0) f.timersFiredEarly++;
      }
    }
  }

  // Duplicate executions: a key seen again; the simulator answered it without a second effect.
  for (const [key, entries] of byKey) {
    const extra = entries.length - 1;
    if (extra <= 0) continue;
    f.duplicateStepExecutions += extra;
    const same = entries.every((e) => {
      const body = e.body as EffectBody | null;
      if (!body) return false;
      return (
        key ===
        (body.phase === "do"
          ? `${body.sagaId}:${body.step}`
          : `${body.sagaId}:${body.step}:compensate`)
      );
    });
    if (same) f.duplicatesWithSameKey += extra;
  }

  for (const times of obs.eventPublishes.values()) {
    f.eventsPublished++;
    f.eventsRepublished += times.length - 1;
  }

  // The bus: every lifecycle event of the store reaches the checker's consumer group.
  const seen = new Map<string, number>();
  const seenTypes = new Map<string, string>();
  for (const m of obs.busMessages) {
    if (!m.type.startsWith("saga.")) continue;
    seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
    seenTypes.set(m.id, m.type);
  }
  f.busLifecycleExpected = expectedMessages.size;
  f.busLifecycleSeen = seen.size;
  for (const count of seen.values()) f.busDuplicateDeliveries += count - 1;
  const seenByType = new Map<string, number>();
  for (const type of seenTypes.values()) seenByType.set(type, (seenByType.get(type) ?? 0) + 1);
  const expectedByType = new Map<string, number>();
  for (const type of expectedMessages.values())
    expectedByType.set(type, (expectedByType.get(type) ?? 0) + 1);
  for (const [type, n] of expectedByType) {
    const missing = n - (seenByType.get(type) ?? 0);
    if (missing > 0) f.busMissingByType[type] = missing;
    f.busLifecycleMissing += Math.max(0, missing);
  }
  return f;
}
