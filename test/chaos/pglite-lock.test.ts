import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../src/core/errors.js";
import { createOrchestrator, defineSaga, PgliteStore, replay } from "../../src/index.js";

const HOLDER = fileURLToPath(new URL("./fixtures/pglite-holder.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
let dir = "";
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("PGlite data directory: one process at a time", () => {
  it(
    "refuses a second process with SAGA_STORE_LOCKED; after kill -9 reopens, and every stored state equals its replay",
    // PGlite's start in a child and in this process: minutes on a loaded 2-core machine.
    { timeout: 420_000 },
    async () => {
      dir = await mkdtemp(join(tmpdir(), "saga-pglite-lock-"));
      const dataDir = join(dir, "data");
      const child = spawn(process.execPath, ["--import", "tsx", HOLDER, dataDir], {
        cwd: ROOT,
        stdio: ["pipe", "pipe", "inherit"],
      });
      const exited = new Promise((resolve) => child.once("exit", resolve));
      const lines = createInterface({ input: child.stdout });
      // Wait until it has started at least 20 sagas (many are mid-step when it dies).
      await new Promise<void>((resolve, reject) => {
        lines.on("line", (line) => {
          const started = /^started (\d+)$/.exec(line);
          if (started && Number(started[1]) >= 20) resolve();
        });
        child.once("exit", (code) => reject(new Error(`holder exited early (${code})`)));
      });

      // A second opener (this process) is refused, with the holder's pid in the message.
      const second = PgliteStore.open({ dataDir });
      await expect(second).rejects.toMatchObject({ code: ErrorCodes.SAGA_STORE_LOCKED });
      await expect(PgliteStore.open({ dataDir })).rejects.toThrow(String(child.pid));

      child.kill("SIGKILL");
      await exited;

      // The dead holder's lock is taken over. Before anything runs again, every stored state
      // equals the replay of its events.
      const store = await PgliteStore.open({ dataDir });
      let count: number;
      try {
        const page = await store.listSagas({ tenantId: "default", limit: 1000 });
        count = page.items.length;
        expect(count).toBeGreaterThanOrEqual(20);
        for (const state of page.items) {
          const events = await store.getEvents("default", state.id);
          expect(replay(events.map((e) => e.event))).toEqual(state);
        }
      } finally {
        await store.close();
      }

      // Then the sagas resume (the lost attempts are run again) and all complete.
      const saga = defineSaga({
        name: "held",
        steps: ["a", "b", "c", "d"].map((name) => ({
          name,
          action: () => Promise.resolve(name),
          compensate: () => Promise.resolve(),
        })),
      });
      const orchestrator = await createOrchestrator({
        sagas: [saga],
        dataDir,
        pollIntervalMs: 50,
        leaseMs: 1_000,
      });
      try {
        const page = await orchestrator.list({ limit: 1000 });
        expect(page.items.length).toBe(count);
        for (const state of page.items) {
          const result = await orchestrator.handle(state.id).result();
          expect(result.status).toBe("completed");
        }
      } finally {
        await orchestrator.close();
      }
    },
  );
});
