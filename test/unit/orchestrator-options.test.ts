import { describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/core/errors.js";
import { compileOrchestratorOptions } from "../../src/engine/orchestrator-options.js";
import type { Store } from "../../src/engine/store-port.js";

const store = {} as Store;

describe("compileOrchestratorOptions", () => {
  it("applies every default once", () => {
    const o = compileOrchestratorOptions({ store, sagas: [] });
    expect(o).toMatchObject({
      tenantId: "default",
      leaseMs: 30_000,
      heartbeatMs: 1_000,
      pollIntervalMs: 500,
      maxConcurrentSagas: 1000,
      worker: true,
      maxCommitBatch: 256,
      commitConcurrency: 2,
      resultPollMs: 250,
      outbox: false,
      closeStore: true,
      maxStepResultBytes: undefined,
    });
    expect(o.workerId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.isFrozen(o)).toBe(true);
    // A short lease renews three times per lease.
    expect(compileOrchestratorOptions({ store, sagas: [], leaseMs: 900 }).heartbeatMs).toBe(300);
  });

  it.each([
    [{ leaseMs: 0 }, "leaseMs must be an integer >= 1, got 0"],
    [{ leaseMs: 1.5 }, "leaseMs must be an integer >= 1, got 1.5"],
    [{ pollIntervalMs: Number.NaN }, "pollIntervalMs must be an integer >= 1, got NaN"],
    [{ maxConcurrentSagas: -1 }, "maxConcurrentSagas must be an integer >= 0, got -1"],
    [{ maxCommitBatch: 0 }, "maxCommitBatch must be an integer >= 1, got 0"],
    [
      { leaseMs: 1_000, heartbeatMs: 1_000 },
      "heartbeatMs (1000) must be shorter than leaseMs (1000)",
    ],
    [{ tenantId: "" }, "tenantId must be a non-empty string"],
  ])("refuses %j with SAGA_INVALID_INPUT naming the option", (bad, message) => {
    expect(() => compileOrchestratorOptions({ store, sagas: [], ...bad })).toThrow(
      expect.objectContaining({
        code: ErrorCodes.INVALID_INPUT,
        retryable: false,
        message: expect.stringContaining(message) as unknown,
      }),
    );
  });
});
