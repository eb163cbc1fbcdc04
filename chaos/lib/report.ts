import type { ChaosResult } from "./harness.js";

export interface ChaosReport {
  date: string;
  commit: string;
  dirty: boolean;
  profile: string;
  seed: number;
  machine: Record<string, unknown>;
  results: ChaosResult[];
}

const n = (v: number | null | undefined): string =>
  v === null || v === undefined ? "–" : v.toLocaleString("en-US");

/** The Markdown report: one table per Redis mode with every figure and its goal. */
export function renderMarkdown(report: ChaosReport): string {
  const lines: string[] = [
    `# Chaos run ${report.date.slice(0, 16)}Z — commit ${report.commit}${report.dirty ? " (with uncommitted changes)" : ""}`,
    "",
    `Profile \`${report.profile}\`, seed ${report.seed} (replay: \`npm run chaos -- --profile ${report.profile} --seed ${report.seed}\`).`,
    `Machine: ${JSON.stringify(report.machine)}.`,
    "",
  ];
  for (const r of report.results) {
    const f = r.figures;
    const c = r.config;
    lines.push(
      `## Redis ${c.redis === "aof" ? "with AOF (appendfsync always)" : "without persistence"} — seed ${c.seed}`,
      "",
      `${c.workers} workers + 1 relay, lease ${c.leaseMs} ms, faults for ${Math.round(r.durations.faultMs / 1000)} s, ` +
        `drain ${Math.round(r.durations.drainMs / 1000)} s, total ${Math.round(r.durations.totalMs / 1000)} s. ` +
        `Worker clocks skewed by ${c.skewsMs.map((s) => `${s / 60_000} min`).join(", ")} (per slot).`,
      "",
      "| Faults injected | Count |",
      "| --- | ---: |",
      ...Object.entries(r.faults).map(([k, v]) => `| ${k} | ${n(v)} |`),
      "",
      "| Figure | Value | Goal |",
      "| --- | ---: | --- |",
      `| sagas (all kinds) | ${n(f.sagas)} | |`,
      `| by kind | ${Object.entries(f.byKind)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")} | |`,
      `| outcomes | ${Object.entries(f.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")} | |`,
      `| acknowledged starts | ${n(f.acknowledgedStarts)} | |`,
      `| acknowledged starts lost | ${n(f.acknowledgedStartsLost)} | 0 |`,
      `| start calls that failed and were retried with the same key | ${n(f.startErrorsRetried)} | counted |`,
      `| terminal outcomes duplicated | ${n(f.terminalOutcomesDuplicated)} | 0 |`,
      `| wrong business outcomes (crash-loop stops excluded) | ${n(f.wrongOutcomes)} | 0 |`,
      `| cancels accepted while the saga completed anyway (see chaos/README.md) | ${n(f.cancelAcceptedButCompleted)} | counted |`,
      `| steps stopped by the crash-loop limit (SAGA_CRASH_LOOP) | ${n(f.crashLoops)} | counted |`,
      `| lost attempts re-run outside the retry budget | ${n(f.lostAttempts)} | counted |`,
      `| completed steps compensated other than exactly once | ${n(f.completedStepsCompensatedOtherThanOnce)} | 0 |`,
      `| compensations out of reverse order | ${n(f.compensationsOutOfReverseOrder)} | 0 |`,
      `| compensation effects of steps that never completed | ${n(f.compensationEffectsOfStepsNeverCompleted)} | 0 |`,
      `| completed steps without exactly one effect | ${n(f.completedStepsWithoutEffect)} | 0 |`,
      `| duplicate step executions (same key seen again) | ${n(f.duplicateStepExecutions)} | counted |`,
      `| … of which carried the same idempotency key | ${n(f.duplicatesWithSameKey)} | all |`,
      `| outcomes accepted from a stale attempt | ${n(f.staleOutcomesAccepted)} | 0 |`,
      `| stored state ≠ replay of its events | ${n(f.storedStateNotReplay)} | 0 |`,
      `| effect calls of a superseded attempt after its successor started | ${n(f.supersededAttemptEffectsAfterTakeover)} | counted (deduplicated by key) |`,
      `| takeovers without a kill, pause or database fault (early lease steal) | ${n(f.unexplainedTakeovers)} | 0 |`,
      `| durable timers checked / fired early | ${n(f.timersChecked)} / ${n(f.timersFiredEarly)} | – / 0 |`,
      `| smallest timer margin (ms) | ${n(f.timerMinMarginMs)} | ≥ 0 |`,
      `| events published / published again (still waiting after 5 s) | ${n(f.eventsPublished)} / ${n(f.eventsRepublished)} | |`,
      `| cancels accepted / unanswered (worker died) | ${n(f.cancelsAccepted)} / ${n(f.cancelsUnanswered)} | |`,
      `| lifecycle events in the store | ${n(f.busLifecycleExpected)} | |`,
      `| … delivered to the checker's consumer group | ${n(f.busLifecycleSeen)} | |`,
      `| … never delivered | ${n(f.busLifecycleMissing)} ${Object.keys(f.busMissingByType).length ? `(${JSON.stringify(f.busMissingByType)})` : ""} | 0 with AOF |`,
      `| bus redeliveries of the same id | ${n(f.busDuplicateDeliveries)} | counted |`,
      `| sagas not terminal after the drain (stuck) | ${n(f.stuck)} | 0 |`,
      `| drain: faults stopped → every saga terminal (ms) | ${n(f.drainMs)} | |`,
      "",
    );
    if (f.acknowledgedLostExamples.length)
      lines.push(
        "Acknowledged starts lost (first 10):",
        "",
        ...f.acknowledgedLostExamples.map((e) => `- ${e}`),
        "",
      );
    if (f.stuckExamples.length)
      lines.push("Stuck sagas (first 10):", "", ...f.stuckExamples.map((e) => `- ${e}`), "");
    if (f.workerErrorSamples.length)
      lines.push(
        "Process errors (first 20):",
        "",
        ...f.workerErrorSamples.map((e) => `- ${e.slice(0, 300)}`),
        "",
      );
    if (f.wrongOutcomeExamples.length)
      lines.push(
        "Wrong outcomes (first 10):",
        "",
        ...f.wrongOutcomeExamples.map((e) => `- ${e}`),
        "",
      );
    if (f.unexplainedTakeoverExamples.length)
      lines.push(
        "Takeovers without a fault (first 10):",
        "",
        ...f.unexplainedTakeoverExamples.map((e) => `- ${e}`),
        "",
      );
    const samples = r.rss;
    if (samples.length) {
      lines.push("RSS over time (kB): t (s) · largest live worker · relay · harness", "", "```");
      const step = Math.max(1, Math.floor(samples.length / 20));
      for (let i = 0; i < samples.length; i += step) {
        const s = samples[i]!;
        lines.push(
          `${String(Math.round(s.t / 1000)).padStart(6)}  ${String(s.workersMaxKb).padStart(8)}  ${String(s.relayKb ?? "-").padStart(8)}  ${String(s.harnessKb).padStart(8)}`,
        );
      }
      lines.push("```", "");
    }
  }
  return `${lines.join("\n")}\n`;
}
