// `npm run demo`: the orchestrator and a simulator of its downstream services, on loopback.
// Publishes a few `user.registered` events, makes one user's sample Airtable base fail, and
// prints what happened; then keeps serving until Ctrl-C (`--once`: exit after the summary).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config/config.js";
import { createService, type Service } from "../src/service.js";
import {
  startDownstreamSimulator,
  type DownstreamSimulator,
} from "../src/testing/downstream-simulator.js";

const once = process.argv.includes("--once");
const USERS = [
  { user_id: "u-1001", email: "ada@example.com", name: "Ada Lovelace" },
  { user_id: "u-1002", email: "grace@example.com", name: "Grace Hopper" },
  { user_id: "u-1003", email: "alan@example.com", name: "Alan Turing" },
  { user_id: "u-1004", email: "edsger@example.com", name: "Edsger Dijkstra" },
];
/** The user whose sample Airtable base cannot be created: their onboarding compensates. */
const UNLUCKY = "u-1003";
const ENDED = new Set(["completed", "compensated", "failed"]);

interface SagaJson {
  saga_id: string;
  status: string;
  attributes: Record<string, string>;
  error: { code: string; message: string } | null;
}
interface StepJson {
  name: string;
  status: string;
  attempts: number;
  compensation: { status: string; completed_at: string | null };
}

async function main(): Promise<number> {
  const airtableToken = `demo-${randomBytes(12).toString("hex")}`;
  const sim = await startDownstreamSimulator({ airtableToken, latencyMs: 15 });
  const dataDir = mkdtempSync(join(tmpdir(), "saga-demo-"));
  let service: Service | null = null;
  const shutdown = async () => {
    await service?.close();
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    // {{secrets.AIRTABLE_TOKEN}} of the definitions comes from this file, at dispatch only.
    const secretsFile = join(dataDir, "secrets.json");
    writeFileSync(secretsFile, JSON.stringify({ AIRTABLE_TOKEN: airtableToken }), { mode: 0o600 });
    // The service as `saga serve` would run it with this environment (no API key: local use).
    const config = loadConfig({
      LOG_LEVEL: process.env.LOG_LEVEL ?? "error",
      SAGA_DATA_DIR: join(dataDir, "pglite"),
      SAGA_SECRETS_FILE: secretsFile,
      USER_SERVICE_URL: sim.urls.user,
      PERMISSION_SERVICE_URL: sim.urls.permission,
      NOTIFICATION_SERVICE_URL: sim.urls.notification,
      AIRTABLE_CONNECTOR_URL: sim.urls.airtable,
    });
    // The built-in sagas of definitions/ load at start-up.
    service = await createService(config);
    const base = await listen(service, once ? 0 : Number(process.env.PORT ?? 8008));

    sim.fail({
      service: "airtable",
      method: "POST",
      path: "/bases",
      status: 503,
      times: "always",
      match: { owner_id: UNLUCKY },
    });
    console.log(`saga orchestrator  ${base}   (embedded PGlite in ${dataDir})`);
    console.log(`service simulator  ${sim.url}   (ledger: ${sim.url}/_control/ledger)`);
    console.log(`simulator: POST airtable /bases answers 503 for ${UNLUCKY}, every time\n`);

    await publishRegistrations(base);
    console.log(`published ${USERS.length} user.registered events (POST /events/publish)\n`);

    const sagasSeen = await waitForOnboardings(base, 60_000);
    await printSummary(base, sagasSeen, sim);
    console.log(`\nAPI docs   ${base}/docs`);
    console.log(`sagas      ${base}/sagas/?saga_type=user_onboarding`);
    console.log(`metrics    ${base}/metrics`);
    console.log(`health     ${base}/health`);
    console.log(`types      ${base}/sagas/types/available`);
    const ok = sagasSeen.every((s) => ENDED.has(s.status));
    if (once) return ok ? 0 : 1;

    console.log(
      `\nTry: curl -s -XPOST ${base}/events/publish -H 'content-type: application/json' -d ` +
        `'{"stream_id":"user-u-2001","type":"user.registered","data":{"user_id":"u-2001","email":"new@example.com"}}'`,
    );
    console.log("Running; Ctrl-C to stop.");
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    console.log("\nstopping…");
    return 0;
  } finally {
    await shutdown();
  }
}

/** Listens on 127.0.0.1:`port` (another free port when it is taken); returns the base URL. */
async function listen(service: Service, port: number): Promise<string> {
  try {
    return await service.app.listen({ port, host: "127.0.0.1" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    console.log(`port ${port} is taken; using another one`);
    return service.app.listen({ port: 0, host: "127.0.0.1" });
  }
}

async function api<T>(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

/** One `user.registered` event per user: the trigger of `user_onboarding` starts one saga each. */
async function publishRegistrations(base: string): Promise<void> {
  for (const user of USERS) {
    const published = await api(base, "POST", "/events/publish", {
      stream_id: `user-${user.user_id}`,
      type: "user.registered",
      data: user,
    });
    if (published.status !== 201)
      throw new Error(
        `POST /events/publish answered ${published.status}: ${JSON.stringify(published.body)}`,
      );
  }
}

/** Polls until every user has an onboarding saga and all of them ended (or the time is up). */
async function waitForOnboardings(base: string, timeoutMs: number): Promise<SagaJson[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const page = await api<{ items: SagaJson[] }>(
      base,
      "GET",
      "/sagas/?saga_type=user_onboarding&limit=100",
    );
    const items = page.body.items.filter((s) =>
      USERS.some((u) => u.user_id === s.attributes.userId),
    );
    const done = items.length >= USERS.length && items.every((s) => ENDED.has(s.status));
    if (done || Date.now() > deadline) {
      if (!done) console.log(`not all sagas ended within ${timeoutMs / 1000} s`);
      return items.sort((a, b) =>
        (a.attributes.userId ?? "").localeCompare(b.attributes.userId ?? ""),
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function printSummary(base: string, items: SagaJson[], sim: DownstreamSimulator) {
  const rows: string[][] = [["SAGA ID", "USER", "STATUS", "STEPS", "COMPENSATIONS"]];
  for (const saga of items) {
    const { body } = await api<{ steps: StepJson[] }>(base, "GET", `/sagas/${saga.saga_id}/steps`);
    const steps = body.steps;
    const done = steps.filter((s) => s.status === "completed" || s.status === "compensated");
    const failed = steps.find((s) => s.status === "failed");
    const undone = steps
      .filter((s) => s.compensation.status === "completed")
      .sort((a, b) =>
        (a.compensation.completed_at ?? "").localeCompare(b.compensation.completed_at ?? ""),
      )
      .map((s) => s.name);
    rows.push([
      saga.saga_id,
      saga.attributes.userId ?? "?",
      saga.status,
      `${done.length}/${steps.length}${failed ? ` (${failed.name} failed after ${failed.attempts} attempts)` : ""}`,
      undone.length > 0 ? undone.join(" -> ") : "-",
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows)
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );

  const calls = sim.ledger();
  console.log(
    `\ndownstream calls: ${calls.length} (failed on purpose: ${calls.filter((c) => c.failedBy).length}, ` +
      `answered again for a repeated Idempotency-Key: ${calls.filter((c) => c.replayed).length})`,
  );
  const compensated = items.find((s) => s.status === "compensated");
  if (compensated) {
    console.log(`calls of the compensated saga (${compensated.attributes.userId}):`);
    for (const c of sim.ledger({ keyPrefix: `${compensated.saga_id}:` }))
      console.log(
        `  ${String(c.status).padEnd(4)}${c.method.padEnd(7)}${`${c.service} ${c.path}`.padEnd(34)}Idempotency-Key: ${c.idempotencyKey}`,
      );
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
