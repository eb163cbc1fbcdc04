import { describe, expect, it } from "vitest";
import type { Aggregate } from "../../bench/lib/aggregate.js";
import type { Report } from "../../bench/lib/report.js";
import { round2TargetsSection } from "../../bench/lib/report-targets16.js";
import type { ScaleRecord } from "../../bench/scenarios/scale.js";

// The bench's verdicts on issue 16's targets: a report must say "met" only when the measured
// figure meets the target, and "not measured" when its scenario did not run.
const agg = (engine: string, concurrency: number, o: Partial<Aggregate>): Aggregate =>
  ({
    engine,
    concurrency,
    sagasPerSec: NaN,
    latP50: NaN,
    cpuPer1000: NaN,
    walKbPerSaga: NaN,
    ...o,
  }) as Aggregate;

const scale = (processes: number, sagasPerSec: number, perProcess: number[]): ScaleRecord =>
  ({
    processes,
    inFlight: 512,
    sagasPerSec,
    perProcessSagasPerSec: perProcess,
    error: null,
  }) as ScaleRecord;

/** The verdict of the target row whose text contains `target`. */
function verdicts(r: Partial<Report>, saga3: Aggregate[]): (target: string) => string {
  const report = { http: [], store1m: null, ...r } as Report;
  const rows = round2TargetsSection(report, saga3)[1]!.split("\n").slice(2);
  return (target) => {
    const row = rows.find((l) => l.includes(target));
    if (!row) throw new Error(`no row for ${target}`);
    return row.split(" | ").at(-1)!.replace(/ \|$/, "");
  };
}

describe("bench report: issue 16 targets", () => {
  it("says met, missed or not measured from the figures", () => {
    const v = verdicts(
      {
        http: [
          { store: "postgres", requestsPerSec: 3100, latencyP99: 40 } as Report["http"][number],
        ],
        scale: [
          scale(1, 3000, [3000]),
          scale(2, 3100, [1500, 1600]),
          scale(4, 2700, [700, 700, 650, 650]),
        ],
      },
      [
        agg("ours-pg", 512, { sagasPerSec: 7200, cpuPer1000: 0.2, walKbPerSaga: 3.9 }),
        agg("ours-pg", 1, { latP50: 3.4 }),
        agg("raw-naive", 1, { latP50: 3.0 }),
        agg("ours-pglite", 64, { sagasPerSec: 2000 }),
        agg("ours-pglite", 512, { sagasPerSec: 1960 }),
        agg("dbos", 512, { sagasPerSec: 800 }),
      ],
    );
    expect(v("≥ 7,000 sagas/s")).toBe("met");
    expect(v("node CPU")).toBe("**missed**");
    expect(v("WAL")).toBe("met");
    expect(v("raw-naive")).toBe("**missed**"); // 3.4 > 1.1 × 3.0
    expect(v("HTTP start")).toBe("met");
    expect(v("PGlite")).toBe("met"); // within 5 %
    expect(v("DBOS")).toBe("**missed**"); // 9×
    expect(v("Restate")).toBe("not measured");
    expect(v("scale")).toBe("**missed**"); // 4 processes fell below 2
    expect(v("store-1m")).toBe("not measured");
  });

  it("calls a process with under a quarter of its fair share starving", () => {
    const v = verdicts({ scale: [scale(1, 1000, [1000]), scale(2, 1100, [1050, 50])] }, []);
    expect(v("scale")).toBe("**missed**");
    const fair = verdicts({ scale: [scale(1, 1000, [1000]), scale(2, 1100, [600, 500])] }, []);
    expect(fair("scale")).toBe("met");
  });
});
