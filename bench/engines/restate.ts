import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Context as RestateContext } from "@restatedev/restate-sdk";
import "../lib/with-resolvers.js";
import { peakRssMbOf, processCpuSec } from "../lib/proc.js";
import { stepResult, type EngineContext, type RunningEngine } from "./engine.js";

const INGRESS = 8080;
const ADMIN = 9070;
const ENDPOINT = 9080;

/** The restate-server binary shipped inside the npm package (@restatedev/restate-server-<os>-<arch>). */
export function restateServerBinary(): string {
  const require = createRequire(import.meta.url);
  return require.resolve(
    `@restatedev/restate-server-${process.platform}-${process.arch}/bin/restate-server`,
  );
}

/** The durability settings of restate-server's default configuration, as it dumps them. */
export function restateDurabilitySettings(): string[] {
  const dump = execFileSync(restateServerBinary(), ["--dump-config"], {
    env: { ...process.env, RESTATE_DISABLE_TELEMETRY: "true" },
  }).toString();
  let section = "";
  const lines: string[] = [];
  for (const line of dump.split("\n")) {
    const header = /^\[(.+)\]$/.exec(line.trim());
    if (header) section = header[1]!;
    else if (/wal-fsync|disable-wal\b/.test(line)) lines.push(`[${section}] ${line.trim()}`);
  }
  return lines;
}

/**
 * Restate: restate-server (Rust, from the npm package) on loopback with a fresh data directory,
 * a service endpoint (@restatedev/restate-sdk) in this process whose handler makes 3 `ctx.run`
 * steps, registered through the admin API and invoked over the HTTP ingress (request/response:
 * the call returns when the handler has finished). The driver runs this child in a private
 * network namespace: restate-server checks GitHub for a newer release at every start.
 */
export async function restate(ctx: EngineContext): Promise<RunningEngine> {
  const { probe } = ctx;
  if (ctx.spec.workload !== "saga3") throw new Error("the restate engine runs saga3 only");
  process.env.RESTATE_LOGGING ??= "WARN"; // the SDK logs every invocation at INFO otherwise
  const sdk = await import("@restatedev/restate-sdk");
  const service = sdk.service({
    name: "bench",
    handlers: {
      saga3: async (rctx: RestateContext, k: number) => {
        for (const i of [1, 2, 3]) {
          await rctx.run(`s${i}`, () => {
            probe.enter(k, `s${i}`);
            const result = stepResult(i);
            probe.exit(k);
            return Promise.resolve(result);
          });
        }
        return 3;
      },
    },
  });
  await sdk.serve({ services: [service], port: ENDPOINT });

  const dir = await mkdtemp(join(tmpdir(), "bench-restate-"));
  const log = createWriteStream(join(dir, "server.log"));
  const server: ChildProcess = spawn(
    restateServerBinary(),
    ["--no-logo", "--bind-ip", "127.0.0.1", "--listen-mode", "tcp", "--log-format", "compact"],
    {
      env: {
        ...process.env,
        RESTATE_BASE_DIR: dir,
        RESTATE_DISABLE_TELEMETRY: "true",
        RESTATE_LOG_FILTER: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  server.stdout?.pipe(log);
  server.stderr?.pipe(log);
  const kill = () => server.kill("SIGKILL");
  process.once("exit", kill);
  const pid = server.pid!;

  const agent = new http.Agent({ keepAlive: true, maxSockets: ctx.spec.concurrency + 8 });
  const post = (port: number, path: string, body: string) =>
    request(agent, { port, path, method: "POST", body });
  try {
    await until(
      async () => (await request(agent, { port: ADMIN, path: "/health" })).status === 200,
    );
    const reg = await post(
      ADMIN,
      "/deployments",
      JSON.stringify({ uri: `http://127.0.0.1:${ENDPOINT}` }),
    );
    if (reg.status >= 300) throw new Error(`registering the deployment: ${reg.status} ${reg.body}`);
    await until(async () => (await post(INGRESS, "/bench/saga3", "-1")).status === 200);
  } catch (error) {
    kill();
    const tail = (await readFile(join(dir, "server.log"), "utf8").catch(() => "")).slice(-2000);
    throw new Error(`restate-server did not come up: ${String(error)}\n${tail}`, { cause: error });
  }
  let peakServerRss = 0;
  const rssTimer = setInterval(() => (peakServerRss = peakRssMbOf(pid) ?? peakServerRss), 500);
  return {
    runOne: async (k) => {
      const res = await post(INGRESS, "/bench/saga3", String(k));
      if (res.status !== 200 || res.body !== "3")
        throw new Error(`ingress answered ${res.status} ${res.body}`);
    },
    storeCpuSec: () => processCpuSec(pid),
    storeLabel: "restate-server",
    counts: async () => {
      const res = await post(
        ADMIN,
        "/query",
        JSON.stringify({
          query: "SELECT status AS label, count(*) AS n FROM sys_invocation GROUP BY status",
        }),
      );
      if (res.status !== 200) return null;
      const rows = (JSON.parse(res.body) as { rows?: { label: string; n: number }[] }).rows ?? [];
      return Object.fromEntries(rows.map((r) => [r.label, Number(r.n)]));
    },
    close: async () => {
      clearInterval(rssTimer);
      ctx.notes.push(
        `restate: restate-server peak RSS ${peakServerRss.toFixed(0)} MB (not in the node column)`,
      );
      agent.destroy();
      server.kill("SIGTERM");
      await Promise.race([
        new Promise((r) => server.once("exit", r)),
        new Promise((r) => setTimeout(r, 10_000)),
      ]);
      kill();
      process.removeListener("exit", kill);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function request(
  agent: http.Agent,
  o: { port: number; path: string; method?: string; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: o.port,
        path: o.path,
        method: o.method ?? "GET",
        agent,
        headers:
          o.body === undefined
            ? {}
            : { "content-type": "application/json", accept: "application/json" },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(o.body);
  });
}

async function until(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | null = null;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error instanceof Error ? error : new Error(String(error));
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out${last ? `: ${last.message}` : ""}`);
}
