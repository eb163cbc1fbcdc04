import { PENDING_STEP, type SagaState, type StepState } from "../core/state.js";

/** Top-level fields of a state that are often null; a stored state may leave them out. */
const NULLABLE_TOP = [
  "reason",
  "error",
  "failedPhase",
  "idempotencyKey",
  "correlationId",
  "parent",
  "deadlineAt",
  "endedAt",
] as const;

export type StoredState = Record<string, unknown> & {
  steps?: Record<string, Record<string, unknown>>;
};

/**
 * The state as stored in `saga_instances.state`: the same JSON without the fields that hold
 * their default (a pending step's values, top-level nulls). A checkpoint rewrites the state, so
 * this halves what every write serializes, sends, parses and logs to the WAL. A step keeps its
 * `status` always (the statements read it). `unpackState` restores the full shape; a full state
 * (as older rows hold) reads back unchanged.
 */
export function packState(state: SagaState): StoredState {
  const out: StoredState = {};
  for (const [key, value] of Object.entries(state)) {
    if (key === "steps") continue;
    if (value === null && NULLABLE.has(key)) continue;
    out[key] = value;
  }
  const steps: Record<string, Record<string, unknown>> = {};
  for (const name of Object.keys(state.steps)) steps[name] = packStep(state.steps[name]!);
  out.steps = steps;
  return out;
}

const NULLABLE = new Set<string>(NULLABLE_TOP);
/** The stored JSON of each step object: the reducer replaces only the step an event touches. */
const stepJsonCache = new WeakMap<StepState, string>();

/** Fields set by SagaStarted that no later event changes: their JSON is made once per saga. */
const FIXED = [
  "id",
  "tenantId",
  "name",
  "version",
  "input",
  "idempotencyKey",
  "correlationId",
  "attributes",
  "parent",
  "fault",
  "startedAt",
] as const satisfies readonly (keyof SagaState)[];
/** The other fields but `steps`, which every write serializes. */
const CHANGING = [
  "status",
  "reason",
  "error",
  "failedPhase",
  "deadlineAt",
  "updatedAt",
  "endedAt",
  "seq",
  "completionOrder",
] as const satisfies readonly (keyof SagaState)[];

/**
 * The JSON of a saga's fixed fields, by its `attributes` object: made at SagaStarted and carried
 * by reference into every later state of the saga (a cache entry is checked field by field).
 */
const fixedJsonCache = new WeakMap<object, { values: unknown[]; json: string }>();

function fixedJson(state: SagaState): string {
  const values = FIXED.map((key) => state[key]);
  const cached = fixedJsonCache.get(state.attributes);
  if (cached && cached.values.every((v, i) => v === values[i])) return cached.json;
  let json = "";
  FIXED.forEach((key, i) => {
    const value = values[i];
    if (value === undefined || (value === null && NULLABLE.has(key))) return;
    json += `"${key}":${JSON.stringify(value)},`;
  });
  fixedJsonCache.set(state.attributes, { values, json });
  return json;
}

/**
 * `JSON.stringify(packState(state))`, faster: what SagaStarted set is serialized once per saga,
 * and a step that did not change since the last write keeps the same object, whose JSON is reused.
 */
export function stateJson(state: SagaState): string {
  let out = `{${fixedJson(state)}`;
  for (const key of CHANGING) {
    const value = state[key];
    if (value === null && NULLABLE.has(key)) continue;
    out += `"${key}":${JSON.stringify(value)},`;
  }
  out += '"steps":{';
  let first = true;
  for (const name of Object.keys(state.steps)) {
    const step = state.steps[name]!;
    let json = stepJsonCache.get(step);
    if (json === undefined) {
      json = JSON.stringify(packStep(step));
      stepJsonCache.set(step, json);
    }
    out += `${first ? "" : ","}${JSON.stringify(name)}:${json}`;
    first = false;
  }
  return `${out}}}`;
}

function packStep(step: StepState): Record<string, unknown> {
  const packed: Record<string, unknown> = { status: step.status };
  for (const key of Object.keys(step) as (keyof StepState)[]) {
    const value = step[key];
    if (key !== "status" && value !== PENDING_STEP[key]) packed[key] = value;
  }
  return packed;
}

/** PENDING_STEP unfrozen, to spread from (V8 copies a frozen object several times slower). */
const BLANK_STEP: StepState = { ...PENDING_STEP };

/** The full state from its stored form (packed or not). */
export function unpackState(stored: StoredState): SagaState {
  const state = { ...stored } as Record<string, unknown>;
  for (const key of NULLABLE_TOP) if (!(key in state)) state[key] = null;
  const steps: Record<string, StepState> = {};
  for (const [name, step] of Object.entries(stored.steps ?? {}))
    steps[name] = { ...BLANK_STEP, ...step };
  state.steps = steps;
  return state as unknown as SagaState;
}
