/**
 * The contract between the engine's JSON and the SQL statements: the fields of the stored state
 * (`saga_instances.state`, as `packState` writes it) and of event data (`saga_events.data`) that
 * statements under `sql/` read. Renaming one, changing its type or meaning, or leaving it out of
 * the packed state breaks those statements: change them (and add a migration for stored rows)
 * together. test/unit/state-contract.test.ts checks both directions: every path the SQL reads is
 * listed here, and every path listed is in the JSON the engine writes, with the type given.
 */
export const STATE_FIELDS_READ_BY_SQL = {
  /** `forward` or `compensation` once failed; left out of the packed state while null. */
  failedPhase: { type: "string", optional: true, readBy: ["commit-sagas", "request-cancel"] },
  /** Every step's status, kept even for a pending step: suspended steps are matched on it. */
  "steps.*.status": { type: "string", optional: false, readBy: ["commit-sagas", "side-effects"] },
  /** The stream version: the id of a child's end signal to its parent is made from it. */
  seq: { type: "number", optional: false, readBy: ["side-effects"] },
  /** A child saga's parent (saga id and waiting step); left out while null. */
  parent: { type: "object", optional: true, readBy: ["side-effects"] },
  "parent.sagaId": { type: "string", optional: true, readBy: ["side-effects"] },
  "parent.step": { type: "string", optional: true, readBy: ["side-effects"] },
} as const;

/** Fields of event data the SQL reads, by event type. */
export const EVENT_FIELDS_READ_BY_SQL = {
  /** A step waiting for a domain event: the inbox subscription is made from these. */
  StepSuspended: {
    step: { type: "string", optional: false },
    /** An object for a wait on an event, null for a sleep. */
    wait: { type: "object", optional: false },
    "wait.topic": { type: "string", optional: true },
    "wait.path": { type: "string", optional: true },
    "wait.key": { type: "string", optional: true },
  },
} as const;
