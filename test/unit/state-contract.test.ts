import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/core/events.js";
import { applyEvent } from "../../src/core/reducer.js";
import type { SagaState } from "../../src/core/state.js";
import { packState } from "../../src/store/state-codec.js";
import {
  EVENT_FIELDS_READ_BY_SQL,
  STATE_FIELDS_READ_BY_SQL,
} from "../../src/store/state-contract.js";

const SQL_DIR = join(import.meta.dirname, "../../src/store/sql");

/** The JSON paths the statements read from `<alias>.state` and `e.data`, as dotted paths. */
function pathsReadBySql(): { state: Set<string>; eventData: Set<string> } {
  const state = new Set<string>();
  const eventData = new Set<string>();
  for (const file of readdirSync(SQL_DIR).filter((f) => f.endsWith(".ts"))) {
    const text = readFileSync(join(SQL_DIR, file), "utf8");
    // e.g. x.state->'steps'->b.step->>'status', state->>'failedPhase', e.data->'wait'->>'topic'.
    // A segment is a quoted key, a column (`b.step`) or a parenthesised text (`(e.data->>'step')`).
    const segment = String.raw`(?:'[A-Za-z_]+'|\([a-z_]+\.[a-z_]+->>'[a-z_]+'\)|[a-z_]+\.[a-z_]+)`;
    const chain = new RegExp(String.raw`\b(state|e\.data)((?:\s*->>?\s*${segment})+)`, "g");
    for (const m of text.matchAll(chain)) {
      const parts = [...m[2]!.matchAll(new RegExp(String.raw`->>?\s*(${segment})`, "g"))].map(
        (p) => /^'([A-Za-z_]+)'$/.exec(p[1]!)?.[1] ?? "*",
      );
      (m[1] === "state" ? state : eventData).add(parts.join("."));
    }
  }
  return { state, eventData };
}

function at(value: unknown, path: string): unknown[] {
  let level: unknown[] = [value];
  for (const key of path.split(".")) {
    level = level.flatMap((v) => {
      if (typeof v !== "object" || v === null) return [];
      const o = v as Record<string, unknown>;
      return key === "*" ? Object.values(o) : key in o ? [o[key]] : [];
    });
  }
  return level;
}

const error = { name: "Error", code: "SAGA_STEP_FAILED", message: "no", retryable: false };

/** A child saga failed going forward, with a pending step, a suspended one and a completed one. */
function sampleStates(): { failedChild: SagaState; running: SagaState; suspended: SagaEvent } {
  const started = (parent: boolean): SagaEvent => ({
    type: "SagaStarted",
    at: 1,
    sagaId: "00000000-0000-7000-8000-000000000001",
    tenantId: "t",
    name: "n",
    version: 1,
    input: {},
    idempotencyKey: null,
    correlationId: null,
    attributes: {},
    parent: parent ? { sagaId: "00000000-0000-7000-8000-000000000002", step: "child" } : null,
    deadlineAt: null,
  });
  const suspended: SagaEvent = {
    type: "StepSuspended",
    at: 3,
    step: "b",
    attempt: 1,
    until: null,
    wait: { topic: "payment.settled", path: "data.orderId", key: "o-1" },
  };
  let running = applyEvent(null, started(false));
  for (const e of [
    { type: "StepStarted", at: 2, step: "a", attempt: 1 },
    { type: "StepCompleted", at: 2, step: "a", attempt: 1, result: 1 },
    { type: "StepStarted", at: 3, step: "b", attempt: 1 },
    suspended,
  ] as SagaEvent[])
    running = applyEvent(running, e);
  let failedChild = applyEvent(null, started(true));
  for (const e of [
    { type: "StepStarted", at: 2, step: "a", attempt: 1 },
    { type: "StepFailed", at: 2, step: "a", attempt: 1, error, retryAt: null },
    { type: "SagaFailed", at: 3, phase: "forward", error },
  ] as SagaEvent[])
    failedChild = applyEvent(failedChild, e);
  return { failedChild, running, suspended };
}

describe("the state-JSON contract between the engine and the SQL statements", () => {
  it("lists every path of the state and of event data that a statement reads", () => {
    const read = pathsReadBySql();
    expect(read.state.size).toBeGreaterThan(0); // the scan finds what it should
    expect([...read.state].sort()).toEqual(Object.keys(STATE_FIELDS_READ_BY_SQL).sort());
    expect([...read.eventData].sort()).toEqual(
      Object.keys(EVENT_FIELDS_READ_BY_SQL.StepSuspended).sort(),
    );
  });

  it("finds each listed state field in the packed state, with its type", () => {
    const { failedChild, running } = sampleStates();
    for (const [path, spec] of Object.entries(STATE_FIELDS_READ_BY_SQL)) {
      for (const state of [failedChild, running]) {
        const values = at(packState(state), path);
        if (!spec.optional) expect(values.length, `${path} in ${state.status}`).toBeGreaterThan(0);
        for (const v of values) expect(typeof v, path).toBe(spec.type);
      }
    }
    // The optional ones are there when they matter.
    expect(at(packState(failedChild), "failedPhase")).toEqual(["forward"]);
    expect(at(packState(failedChild), "parent.step")).toEqual(["child"]);
    expect(at(packState(running), "failedPhase")).toEqual([]); // null is left out, read as NULL
    // A pending step keeps its status (a step the saga has not reached yet is simply absent).
    expect(at(packState(running), "steps.b.status")).toEqual(["suspended"]);
  });

  it("finds each listed event field in the stored event, with its type", () => {
    const { suspended } = sampleStates();
    for (const [path, spec] of Object.entries(EVENT_FIELDS_READ_BY_SQL.StepSuspended)) {
      const values = at(suspended, path);
      expect(values.length, path).toBeGreaterThan(0);
      for (const v of values) expect(typeof v, path).toBe(spec.type);
    }
  });
});
