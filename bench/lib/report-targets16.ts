import type { ScaleRecord } from "../scenarios/scale.js";
import type { Aggregate } from "./aggregate.js";
import { finite, ms, num, table, verdict } from "./format.js";
import type { Report } from "./report.js";
import { mean } from "./stats.js";

/** HTTP `POST /sagas/start` on PostgreSQL when issue 16 was filed (f053e2e): its "2×" is of this. */
const HTTP_BASELINE_REQ_PER_SEC = 1508;
/** What one list or search through the API may take at p99 with 1 M sagas stored. */
const STORE1M_P99_MS = 50;

type Row = [target: string, measured: string, ok: boolean | null];

/** `ok` only when every input it needs was measured. */
const when = (inputs: (number | null | undefined)[], ok: () => boolean): boolean | null =>
  inputs.every(finite) ? ok() : null;

/**
 * Issue 16's targets ("Performance, round two") next to what this run measured; a target whose
 * scenario did not run says "not measured". The report's profile sections say where the time goes.
 */
export function round2TargetsSection(r: Report, saga3: Aggregate[]): string[] {
  const at = (engine: string, c: number) =>
    saga3.find((a) => a.engine === engine && a.concurrency === c);
  const ours512 = at("ours-pg", 512);
  const ours1 = at("ours-pg", 1);
  const naive1 = at("raw-naive", 1);
  const lite64 = at("ours-pglite", 64);
  const lite512 = at("ours-pglite", 512);
  const dbos = at("dbos", 512);
  const restate = at("restate", 512);
  const http = r.http.find((h) => h.store === "postgres");
  const rows: Row[] = [
    [
      "saga3 at 512 in flight on PostgreSQL ≥ 7,000 sagas/s",
      num(ours512?.sagasPerSec),
      when([ours512?.sagasPerSec], () => ours512!.sagasPerSec >= 7000),
    ],
    [
      "node CPU at 512 ≤ 0.15 s per 1,000 sagas",
      num(ours512?.cpuPer1000, 3),
      when([ours512?.cpuPer1000], () => ours512!.cpuPer1000 <= 0.15),
    ],
    [
      "WAL at 512 ≤ 4 KB per saga",
      num(ours512?.walKbPerSaga, 1),
      when([ours512?.walKbPerSaga], () => ours512!.walKbPerSaga <= 4),
    ],
    [
      "1 in flight: p50 within 10 % of raw-naive's p50",
      `${ms(ours1?.latP50)} vs ${ms(naive1?.latP50)} ms`,
      when([ours1?.latP50, naive1?.latP50], () => ours1!.latP50 <= 1.1 * naive1!.latP50),
    ],
    [
      `HTTP start (PostgreSQL) ≥ 2 × ${num(HTTP_BASELINE_REQ_PER_SEC)} req/s, p99 ≤ 50 ms`,
      http?.requestsPerSec ? `${num(http.requestsPerSec)} req/s, p99 ${http.latencyP99} ms` : "–",
      when(
        [http?.requestsPerSec, http?.latencyP99],
        () => http!.requestsPerSec! >= 2 * HTTP_BASELINE_REQ_PER_SEC && http!.latencyP99! <= 50,
      ),
    ],
    [
      "PGlite: at 512 not slower than at 64",
      `${num(lite512?.sagasPerSec)} vs ${num(lite64?.sagasPerSec)} sagas/s`,
      // "Not slower" within the repetitions' own spread: 5 %.
      when(
        [lite512?.sagasPerSec, lite64?.sagasPerSec],
        () => lite512!.sagasPerSec >= 0.95 * lite64!.sagasPerSec,
      ),
    ],
    [
      "≥ 10× DBOS at 512",
      ratio(ours512?.sagasPerSec, dbos?.sagasPerSec),
      when(
        [ours512?.sagasPerSec, dbos?.sagasPerSec],
        () => ours512!.sagasPerSec >= 10 * dbos!.sagasPerSec,
      ),
    ],
    [
      "≥ 5× Restate at 512",
      ratio(ours512?.sagasPerSec, restate?.sagasPerSec),
      when(
        [ours512?.sagasPerSec, restate?.sagasPerSec],
        () => ours512!.sagasPerSec >= 5 * restate!.sagasPerSec,
      ),
    ],
    scaleRow(r.scale),
    store1mRow(r),
  ];
  return [
    "### Targets of issue 16 (performance, round two)",
    table(
      ["target", "measured", "verdict"],
      rows.map(([a, b, c]) => [a, b, verdict(c)]),
    ),
    "The targets kept from issue 5 (10k waiting sagas in ≤ 200 MB, resumed ≤ 5 s, 10 M events) are in the table above. For a target missed, the profile sections below show where the engine's time goes.",
  ];
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  return finite(a) && finite(b) && b > 0 ? `${num(a / b, 1)}×` : "–";
}

/** Throughput must not fall as processes are added (5 % for the repetitions' spread), and no process starves. */
function scaleRow(records: readonly ScaleRecord[] | undefined): Row {
  const target = "scale: sagas/s does not fall as processes are added; no process starves";
  const ok = (records ?? []).filter((r) => r.error === null && finite(r.sagasPerSec));
  const counts = [...new Set(ok.map((r) => r.processes))].sort((a, b) => a - b);
  if (counts.length < 2) return [target, "–", null];
  const perCount = counts.map((n) =>
    mean(ok.filter((r) => r.processes === n).map((r) => r.sagasPerSec)),
  );
  const notFalling = perCount.every((v, i) => i === 0 || v >= 0.95 * perCount[i - 1]!);
  // A process with under a quarter of its fair share would be starving.
  const starving = ok.some((r) =>
    r.perProcessSagasPerSec.some((v) => v < (0.25 * (r.sagasPerSec ?? 0)) / r.processes),
  );
  return [
    target,
    `${counts.map((n, i) => `${n}: ${num(perCount[i])}`).join(", ")} sagas/s${starving ? "; a process starved" : ""}`,
    notFalling && !starving,
  ];
}

function store1mRow(r: Report): Row {
  const target = `store-1m: every list/search shape p99 ≤ ${STORE1M_P99_MS} ms`;
  const s = r.store1m;
  if (!s || s.shapes.length === 0) return [target, "–", null];
  const worst = s.shapes.reduce((a, b) => (b.latency.p99 > a.latency.p99 ? b : a));
  const failed = s.shapes.some((x) => x.non2xx > 0 || x.latency.n === 0);
  return [
    target,
    `worst ${worst.name}: ${ms(worst.latency.p99)} ms${failed ? "; a shape had non-2xx answers or none" : ""}`,
    !failed && worst.latency.p99 <= STORE1M_P99_MS,
  ];
}
