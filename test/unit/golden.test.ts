import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/core/events.js";
import { replay } from "../../src/core/reducer.js";
import type { SagaState } from "../../src/core/state.js";

// Histories written by earlier versions (see test/fixtures/make-histories.ts). They are data, not
// regenerated here: a reducer change that replays them differently breaks stored sagas. Their
// SagaStarted predates `correlationId` and `attributes`, so they also prove those stay optional.
const dir = join(dirname(fileURLToPath(import.meta.url)), "../fixtures/histories");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort();

interface History {
  events: SagaEvent[];
  state: SagaState;
}

const load = (file: string): History =>
  JSON.parse(readFileSync(join(dir, file), "utf8")) as History;

describe("golden histories", () => {
  it("the fixture folder holds the scenarios", () => {
    expect(files).toEqual(
      expect.arrayContaining([
        "cancel.json",
        "compensation-failure-operator-retry.json",
        "compensation.json",
        "happy-path.json",
        "parallel-failing-branch.json",
        "retry-then-success.json",
      ]),
    );
  });

  // Every field the old version stored must come out the same. Fields added since (optional in
  // events, with a default in the state) may appear on top: toMatchObject, not toStrictEqual.
  it.each(files)("%s replays to its stored state", (file) => {
    const history = load(file);
    expect(history.events.length).toBeGreaterThan(1);
    const replayed = replay(history.events);
    expect(replayed).toMatchObject(history.state);
    expect(Object.keys(replayed!.steps).sort()).toEqual(Object.keys(history.state.steps).sort());
    expect(JSON.parse(JSON.stringify(replayed))).toStrictEqual(replayed);
  });

  it.each(files)("%s: seq is the stream length and the saga ended", (file) => {
    const { events, state } = load(file);
    expect(state.seq).toBe(events.length);
    expect(["completed", "compensated"]).toContain(state.status);
    expect(state.endedAt).toBe(events.at(-1)!.at);
  });
});
