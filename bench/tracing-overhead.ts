/**
 * Tracing overhead: the saga3 workload (3 no-op durable steps) in a closed loop, with tracing off
 * and on in alternation, in this process. "On" is what `saga serve` does with an OTLP endpoint:
 * the batch span processor exporting OTLP/HTTP JSON, here to a loopback sink in this process
 * (which counts the spans, so its CPU is charged to "on" too). Never part of `npm test`.
 *
 * `npx tsx bench/tracing-overhead.ts` · BENCH_SECONDS (5) measured seconds per run ·
 * BENCH_WARMUP (1) · BENCH_REPS (2) pairs of runs · BENCH_CONCURRENCY (64) sagas in flight ·
 * BENCH_STORE (pglite | postgres: a fresh schema in BENCH_PG_URL's database, default the tests').
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, loadavg } from "node:os";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { defineSaga } from "../src/engine/definition.js";
import { Orchestrator } from "../src/engine/orchestrator.js";
import type { Store } from "../src/engine/store-port.js";
import { PgliteStore } from "../src/store/pglite-store.js";
import { PostgresStore } from "../src/store/postgres-store.js";
import { startTracing, type Tracing } from "../src/telemetry/tracing.js";

const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const seconds = int("BENCH_SECONDS", 5);
const warmup = int("BENCH_WARMUP", 1);
const reps = int("BENCH_REPS", 2);
const inFlight = int("BENCH_CONCURRENCY", 64);
const storeKind = process.env.BENCH_STORE ?? "pglite";
const pgUrl = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

const saga = defineSaga<{ k: number }>({
  name: "bench_saga3",
  steps: [1, 2, 3].map((i) => ({ name: `s${i}`, action: () => ({ step: i }) })),
});

/** A loopback OTLP/HTTP receiver that counts what it gets and throws it away. */
async function sink(): Promise<{ url: string; spans: () => number; close: () => Promise<void> }> {
  let spans = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      spans += (text.match(/"spanId"/g) ?? []).length;
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    spans: () => spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Run {
  mode: "off" | "on";
  sagas: number;
  perSecond: number;
  p50: number;
  p99: number;
  cpuMsPerSaga: number;
}

async function run(store: Store, mode: "off" | "on", tracesUrl: string): Promise<Run> {
  const tracing: Tracing | null = mode === "on" ? startTracing({ tracesUrl }) : null;
  const orchestrator = await Orchestrator.create({ store, sagas: [saga], closeStore: false });
  if (tracing) orchestrator.onCommitted(tracing.listener);
  let measuring = false;
  let stop = false;
  const latencies: number[] = [];
  let k = 0;
  const loop = async () => {
    while (!stop) {
      const began = performance.now();
      const handle = await orchestrator.start("bench_saga3", { k: k++ });
      await handle.result();
      if (measuring) latencies.push(performance.now() - began);
    }
  };
  const loops = Array.from({ length: inFlight }, loop);
  await new Promise((resolve) => setTimeout(resolve, warmup * 1000));
  measuring = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const done = latencies.length;
  stop = true;
  await Promise.all(loops);
  await orchestrator.close({ graceMs: 5_000 });
  await tracing?.shutdown();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(done - 1, Math.floor(q * done))] ?? NaN;
  return {
    mode,
    sagas: done,
    perSecond: done / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    cpuMsPerSaga: (cpu.user + cpu.system) / 1000 / Math.max(1, done),
  };
}

async function openStore(): Promise<{ store: Store; drop: () => Promise<void> }> {
  if (storeKind === "pglite") {
    const store = await PgliteStore.open();
    return { store, drop: () => store.close() };
  }
  const schema = `bench_tracing_${randomBytes(4).toString("hex")}`;
  const store = new PostgresStore({ connectionString: pgUrl, schema });
  return {
    store,
    drop: async () => {
      await store.close();
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

const receiver = await sink();
const { store, drop } = await openStore();
await store.migrate();
const loadBefore = loadavg();
const runs: Run[] = [];
try {
  // One unmeasured run of each mode first: the first run of a cold process is the slowest.
  for (const mode of ["off", "on"] as const) await run(store, mode, receiver.url);
  for (let i = 0; i < reps; i++) {
    // Alternate the order so that a drift of the machine's load does not favour one mode.
    for (const mode of i % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const))
      runs.push(await run(store, mode, receiver.url));
  }
} finally {
  await drop();
  await receiver.close();
}
const loadAfter = loadavg();
const mean = (mode: "off" | "on", key: keyof Omit<Run, "mode">) => {
  const of = runs.filter((r) => r.mode === mode);
  return of.reduce((sum, r) => sum + r[key], 0) / of.length;
};
const fmt = (n: number, digits = 1) => n.toFixed(digits);
const signed = (n: number) => `${n >= 0 ? "+" : ""}${fmt(n)} %`;
process.stdout.write(
  [
    `tracing overhead · saga3 · ${storeKind} · ${inFlight} in flight · ${seconds} s × ${reps} per mode · ${cpus().length} CPUs`,
    `load average before ${loadBefore.map((l) => fmt(l, 2)).join(" ")}, after ${loadAfter.map((l) => fmt(l, 2)).join(" ")}`,
    "mode | sagas/s | p50 ms | p99 ms | CPU ms/saga (this process)",
    ...runs.map(
      (r) =>
        `${r.mode.padEnd(4)} | ${fmt(r.perSecond)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.cpuMsPerSaga, 3)}`,
    ),
    `mean: off ${fmt(mean("off", "perSecond"))} sagas/s, on ${fmt(mean("on", "perSecond"))} sagas/s ` +
      `(${signed((mean("on", "perSecond") / mean("off", "perSecond") - 1) * 100)}); ` +
      `CPU per saga ${fmt(mean("off", "cpuMsPerSaga"), 3)} -> ${fmt(mean("on", "cpuMsPerSaga"), 3)} ms ` +
      `(${signed((mean("on", "cpuMsPerSaga") / mean("off", "cpuMsPerSaga") - 1) * 100)})`,
    `spans received by the loopback collector: ${receiver.spans()}`,
    "",
  ].join("\n"),
);
