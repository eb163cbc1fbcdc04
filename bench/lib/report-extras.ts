import { derived } from "../scenarios/points.js";
import { aggregate, type Aggregate } from "./aggregate.js";
import { finite, ms, num, pct, table, verdict } from "./format.js";
import type { HttpRecord } from "../scenarios/http.js";
import type { ProfileRecord } from "../scenarios/profile.js";
import type { ProfileSummary } from "./cpuprofile.js";
import type { Report } from "./report.js";
import { pointRows } from "./report-points.js";
import { store1mSection } from "./report-store1m.js";

/** The targets next to what this run measured. */
export function targetsSection(r: Report, saga3: Aggregate[]): string[] {
  const at = (engine: string, c: number) =>
    saga3.find((a) => a.engine === engine && a.concurrency === c);
  const top = Math.max(...r.settings.concurrency);
  const ours = at("ours-pg", top);
  const one = at("ours-pg", 1);
  const dbos = at("dbos", top);
  const rst = at("restate", top);
  const httpPg = r.http.find((h) => h.store === "postgres");
  const t = r.timers;
  const resumeSec = t?.resume ? t.resume.doneSec : null;
  const hist = r.history ? aggregate(r.history.points) : [];
  const histRatio = (c: number) => {
    const full = hist.find((a) => a.label === "history-10m" && a.concurrency === c)?.sagasPerSec;
    const empty = hist.find((a) => a.label === "history-empty" && a.concurrency === c)?.sagasPerSec;
    return finite(full) && finite(empty) ? full / empty : null;
  };
  const hr = histRatio(top);
  const rows: [string, string, boolean | null][] = [
    [
      `saga3 at ${top} in flight ≥ 5,000 sagas/s`,
      num(ours?.sagasPerSec),
      finite(ours?.sagasPerSec) ? ours.sagasPerSec >= 5000 : null,
    ],
    [
      `≥ 10× DBOS at ${top}`,
      `${num(ours && dbos ? ours.sagasPerSec / dbos.sagasPerSec : NaN, 1)}×`,
      ours && dbos && finite(dbos.sagasPerSec) ? ours.sagasPerSec >= 10 * dbos.sagasPerSec : null,
    ],
    [
      `≥ 5× Restate at ${top}`,
      `${num(ours && rst ? ours.sagasPerSec / rst.sagasPerSec : NaN, 1)}×`,
      ours && rst && finite(rst.sagasPerSec) ? ours.sagasPerSec >= 5 * rst.sagasPerSec : null,
    ],
    [
      "1 in flight: saga p50 ≤ 3 ms, p99 ≤ 10 ms",
      `${ms(one?.latP50)} / ${ms(one?.latP99)} ms`,
      one && finite(one.latP50) ? one.latP50 <= 3 && one.latP99 <= 10 : null,
    ],
    [
      "1 in flight: dispatch overhead p50 ≤ 1 ms",
      `${ms(one?.dispP50)} ms`,
      one && finite(one.dispP50) ? one.dispP50 <= 1 : null,
    ],
    [
      `≤ 1 commit per step (at ${top})`,
      num(ours?.commitsPerStep, 2),
      ours && finite(ours.commitsPerStep) ? ours.commitsPerStep <= 1 : null,
    ],
    [
      "HTTP start (PostgreSQL) ≥ 3,000 req/s, p99 ≤ 50 ms",
      httpPg?.requestsPerSec
        ? `${num(httpPg.requestsPerSec)} req/s, p99 ${httpPg.latencyP99} ms`
        : "–",
      httpPg?.requestsPerSec
        ? httpPg.requestsPerSec >= 3000 && (httpPg.latencyP99 ?? Infinity) <= 50
        : null,
    ],
    [
      `${num(t?.sagas)} waiting sagas in ≤ 200 MB RSS`,
      t?.hold ? `${num(t.hold.rssMb)} MB` : "–",
      t?.hold ? (t.hold.rssMb ?? Infinity) <= 200 : null,
    ],
    [
      "all resumed ≤ 5 s after a restart",
      finite(resumeSec) ? `${num(resumeSec, 2)} s (process start → last completion)` : "–",
      finite(resumeSec) ? resumeSec <= 5 : null,
    ],
    [
      "10 M events: throughput within 10 % of empty",
      hr === null ? "–" : pct(hr - 1),
      hr === null ? null : hr >= 0.9,
    ],
  ];
  return [
    "### Targets of issue 5 (ours on PostgreSQL, durable commits)",
    table(
      ["target", "measured", "verdict"],
      rows.map(([a, b, c]) => [a, b, verdict(c)]),
    ),
  ];
}

export function extrasSections(r: Report, header: string[]): string[] {
  const out: string[] = [];
  out.push("## saga3-compensate (ours on PostgreSQL)");
  out.push(
    "Step 3 fails with a TerminalError; the compensations of steps 2 and 1 run. Per-step figures are per step *run* (5 per saga: 3 actions, 2 compensations).",
  );
  out.push(table(header, pointRows(aggregate(r.compensate))));
  out.push(...timersSection(r));
  out.push(...httpSection(r));
  out.push(...historySection(r, header));
  out.push(...store1mSection(r.store1m));
  if (r.profile.length === 0) out.push("## Profile", "Not run.");
  for (const p of r.profile) out.push(...profileSection(p));
  out.push(...httpProfileSection(r.httpProfile));
  out.push("## Notes");
  const notes = new Set<string>();
  const restateRss: string[] = [];
  for (const p of [...r.saga3, ...r.compensate]) {
    for (const n of p.result?.notes ?? []) {
      const rss = /^restate: restate-server peak RSS (\d+) MB/.exec(n);
      if (rss) restateRss.push(`${rss[1]} (${p.concurrency} in flight)`);
      else notes.add(n);
    }
  }
  if (restateRss.length > 0)
    notes.add(
      `restate: restate-server peak RSS in MB, not in the node column: ${restateRss.join(", ")}`,
    );
  out.push([...notes].map((n) => `- ${n}`).join("\n"));
  if (r.restateDurability.length > 0)
    out.push(
      `restate-server durability settings (\`--dump-config\`, defaults):\n\n\`\`\`\n${r.restateDurability.join("\n")}\n\`\`\``,
    );
  out.push("## Failures");
  out.push(r.failures.length === 0 ? "None." : r.failures.map((f) => `- ${f}`).join("\n"));
  return out;
}

function timersSection(r: Report): string[] {
  const t = r.timers;
  if (!t) return ["## timers-10k", "Not run."];
  if (t.error && !t.hold) return ["## timers-10k", `Failed: ${t.error}`];
  const h = t.hold ?? {};
  const res = t.resume ?? {};
  return [
    "## timers-10k (ours on PostgreSQL)",
    `${num(t.sagas)} sagas whose first step fails once and retries on a durable timer ${num(t.delayMs / 1000)} s later. Process A starts them and, once all sleep, reports its memory (after a forced GC) and is killed with SIGKILL. When every timer is due, a fresh process B starts on the same database.`,
    table(
      ["measure", "value"],
      [
        ["time to start all and see them asleep (A)", `${num(h.startSec, 1)} s`],
        [
          "RSS of A holding them (after GC)",
          `${num(h.rssMb)} MB (heap used ${num(h.heapUsedMb)} MB)`,
        ],
        [
          "RSS of A before the first start (after GC)",
          `${num(h.baselineRssMb)} MB (heap used ${num(h.baselineHeapUsedMb)} MB)`,
        ],
        [
          "per waiting saga",
          `${num((((h.rssMb ?? NaN) - (h.baselineRssMb ?? NaN)) * 1024) / t.sagas, 2)} KB RSS, ${num((((h.heapUsedMb ?? NaN) - (h.baselineHeapUsedMb ?? NaN)) * 1024) / t.sagas, 2)} KB heap`,
        ],
        ["peak RSS of A", `${num(h.peakRssMb)} MB`],
        ["kill → every timer due (waited)", `${num(t.waitForDueSec, 1)} s`],
        ["B: process start → orchestrator ready", `${num(res.readySec, 2)} s`],
        ["B: process start → all completed", `${num(res.doneSec, 2)} s`],
        ["B: spawn → all completed (wall, as the driver saw it)", `${num(t.resumeWallSec, 2)} s`],
        [
          "retries run by B / after-steps run by B",
          `${num(res.secondAttempts)} / ${num(res.afterSteps)} (first attempts re-run: ${num(res.firstAttemptsAgain)})`,
        ],
        ["store after the run", JSON.stringify(t.storeCounts)],
      ],
    ),
    ...(t.error ? [`Error: ${t.error}`] : []),
  ];
}

function httpSection(r: Report): string[] {
  if (r.http.length === 0) return ["## http-start", "Not run."];
  return [
    "## http-start",
    "`POST /sagas/start` (a 3-step no-op saga) against the service built by `createService` (as `saga serve` runs it; rate limit raised), listening on 127.0.0.1, load from autocannon in the driver process on the same 2 cores. PGlite here is on disk in a temp directory (the service's default store).",
    table(
      [
        "store",
        "connections",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "2xx",
        "non-2xx",
        "errors",
        "sagas completed / started",
        "service CPU s",
        "service peak RSS MB",
        "error",
      ],
      r.http.map((h) => [
        h.store,
        String(h.connections),
        `**${num(h.requestsPerSec)}**`,
        String(h.latencyP50 ?? "–"),
        String(h.latencyP99 ?? "–"),
        String(h.latencyMax ?? "–"),
        num(h.ok2xx),
        num(h.non2xx),
        num(h.errors),
        h.service ? `${num(h.service.completed)} / ${num(h.service.started2xx)}` : "–",
        num(h.service?.cpuSec, 1),
        num(h.service?.peakRssMb),
        h.error?.split("\n")[0] ?? "",
      ]),
    ),
  ];
}

function historySection(r: Report, header: string[]): string[] {
  const h = r.history;
  if (!h) return ["## history-10m", "Not run (set BENCH_HISTORY=1)."];
  const aggs = aggregate(h.points);
  const rows = pointRows(aggs).map((row, i) => [aggs[i]!.label, ...row]);
  return [
    "## history-10m (ours on PostgreSQL)",
    `saga_events filled with ${num(h.events)} rows (and saga_instances with ${num(h.instances)} completed sagas) by INSERT … SELECT generate_series in ${num(h.generateSec)} s, then VACUUM ANALYZE + CHECKPOINT (${num(h.vacuumSec)} s). Sizes: ${JSON.stringify(h.sizes)}. Runs alternate with an empty database; the check of the full one discounts the sagas that were already in it before each run.`,
    table(["database", ...header], rows),
    ...(h.error ? [`Error: ${h.error}`] : []),
  ];
}

function profileSection(p: ProfileRecord): string[] {
  const out = [
    `## Profile: ${p.engine}, saga3 at ${p.concurrency} in flight`,
    "The V8 CPU profiler (the one `node --cpu-prof` runs) in the engine's process, started and stopped at the measured window's edges (module loading, warm-up and shutdown left out), sampling every 0.5 ms.",
  ];
  const res = p.point.result;
  if (res) {
    const d = derived(p.point);
    out.push(
      `Under the profiler: ${num(res.sagasPerSec)} sagas/s, p99 ${ms(res.latency.p99)} ms, ${num(d.commitsPerSaga, 2)} commits/saga, ${num(d.roundTripsPerStep, 2)} round trips/step. Profile file: \`${p.profileFile ?? "–"}\` (open it in Chrome DevTools).`,
    );
  }
  if (p.summary) out.push(...summaryTables(p.summary));
  if (res?.statements) {
    const sagas = Math.max(1, res.completedTotal);
    out.push(
      "Statements as the pg driver saw them (client-side: calls and time from send to result, whole run including start-up; calls per saga over every saga of the run):",
    );
    out.push(
      table(
        ["statement (start)", "calls", "calls / saga", "mean ms", "total s", "rows"],
        res.statements.map((st) => [
          `\`${st.text}\``,
          num(st.calls),
          num(st.calls / sagas, 2),
          ms(st.totalMs / st.calls),
          num(st.totalMs / 1000, 1),
          num(st.rows),
        ]),
      ),
    );
  }
  out.push(`pg_stat_statements: ${p.pgStatStatements}`);
  if (p.explain)
    out.push(
      `EXPLAIN (ANALYZE, BUFFERS) of the group-commit statement (as sent: COMMIT_SAGAS or its lean variant) with the largest batch of the run (${p.explain.batch} sagas), replayed in a rolled-back transaction:\n\n\`\`\`\n${p.explain.plan}\n\`\`\``,
    );
  if (p.error) out.push(`Error: ${p.error}`);
  return out;
}

/** A CPU profile's busy time, self time by module and the top functions. */
function summaryTables(s: ProfileSummary): string[] {
  return [
    `Busy (non-idle) CPU in the profile: ${num(s.totalMs - s.idleMs)} ms of ${num(s.totalMs)} ms.`,
    "Self time by module:",
    table(
      ["module", "self ms", "share of busy"],
      s.byModule.slice(0, 15).map((m) => [m.module, num(m.selfMs), pct(m.share)]),
    ),
    "Top functions by self time:",
    table(
      ["function", "where", "self ms", "share of busy"],
      s.top.map((f) => [f.name, f.where, num(f.selfMs), pct(f.share)]),
    ),
  ];
}

/** http-start on PostgreSQL with the service under the CPU profiler. */
function httpProfileSection(h: HttpRecord | null | undefined): string[] {
  if (!h) return [];
  const out = [
    "## Profile: http-start on PostgreSQL (the service's process)",
    `\`POST /sagas/start\` as in http-start, run again with the V8 CPU profiler in the service's process over the measured window (sampling every 0.5 ms). Under the profiler: ${num(h.requestsPerSec)} req/s, p99 ${h.latencyP99 ?? "–"} ms. Profile file: \`${h.profileFile ?? "–"}\`.`,
  ];
  if (h.profile) out.push(...summaryTables(h.profile));
  if (h.error) out.push(`Error: ${h.error}`);
  return out;
}
