import autocannon from "autocannon";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summariseProfile, type ProfileSummary } from "../lib/cpuprofile.js";
import type { PgAdmin } from "../lib/pgadmin.js";
import { Child } from "../lib/spawn.js";

export interface HttpRecord {
  store: "pglite" | "postgres";
  connections: number;
  durationSec: number;
  requestsPerSec: number | null;
  latencyP50: number | null;
  latencyP99: number | null;
  latencyMax: number | null;
  ok2xx: number | null;
  non2xx: number | null;
  errors: number | null;
  /** Service-side: sagas completed once the load stopped (all 2xx of warm-up + run). */
  service: Record<string, number> | null;
  /** Run under the CPU profiler (`profileTo`): the service's profile over the measured window. */
  profileFile?: string | null;
  profile?: ProfileSummary | null;
  error: string | null;
}

const BODY = JSON.stringify({ saga_type: "bench_http", input: {} });

/**
 * http-start: the service (createService, as `saga serve` runs it) in a child process, and
 * autocannon in this process sending `POST /sagas/start` for a 3-step no-op saga.
 */
export async function httpScenario(
  admin: PgAdmin,
  o: {
    store: "pglite" | "postgres";
    connections: number;
    seconds: number;
    warmupSec: number;
    /** Profile the service's CPU over the measured window into this .cpuprofile. */
    profileTo?: string;
  },
): Promise<HttpRecord> {
  const record: HttpRecord = {
    store: o.store,
    connections: o.connections,
    durationSec: o.seconds,
    requestsPerSec: null,
    latencyP50: null,
    latencyP99: null,
    latencyMax: null,
    ok2xx: null,
    non2xx: null,
    errors: null,
    service: null,
    error: null,
  };
  const dataDir = o.store === "pglite" ? await mkdtemp(join(tmpdir(), "bench-http-pglite-")) : null;
  const databaseUrl = o.store === "postgres" ? await admin.recreate("bench_http") : null;
  const child = new Child({
    kind: "http-service",
    databaseUrl,
    dataDir,
    ...(o.profileTo ? { cpuProfileTo: o.profileTo } : {}),
  });
  try {
    const ready = await child.next(120_000);
    if (ready.type !== "ready" || !ready.port) throw new Error("the service did not report a port");
    const fire = (seconds: number) =>
      autocannon({
        url: `http://127.0.0.1:${ready.port}/sagas/start`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: BODY,
        connections: o.connections,
        duration: seconds,
      });
    const warm = await fire(o.warmupSec);
    child.proc.send("mark");
    const result = await fire(o.seconds);
    const started = warm["2xx"] + result["2xx"];
    record.requestsPerSec = result.requests.average;
    record.latencyP50 = result.latency.p50;
    record.latencyP99 = result.latency.p99;
    record.latencyMax = result.latency.max;
    record.ok2xx = result["2xx"];
    record.non2xx = result.non2xx;
    record.errors = result.errors;
    let info: Record<string, number> = {};
    const deadline = Date.now() + 60_000;
    do {
      child.proc.send("report");
      const m = await child.next(30_000);
      if (m.type === "done") info = m.info;
      if ((info.completed ?? 0) >= started) break;
      await new Promise((r) => setTimeout(r, 250));
    } while (Date.now() < deadline);
    record.service = { ...info, started2xx: started };
    if (o.profileTo && existsSync(o.profileTo)) {
      record.profileFile = o.profileTo;
      record.profile = summariseProfile(o.profileTo);
    }
    console.log(
      `[bench] http-start ${o.store}: ${record.requestsPerSec.toFixed(0)} req/s, p99 ${record.latencyP99} ms, ` +
        `non-2xx ${record.non2xx}, completed ${info.completed}/${started}`,
    );
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
    console.log(`[bench] http-start ${o.store}: ERROR ${record.error.split("\n")[0]}`);
  } finally {
    if (child.proc.connected) child.proc.send("stop");
    await child.stop(20_000);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
  return record;
}
