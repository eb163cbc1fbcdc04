/** Human-readable renderings of API answers for the CLI. */
interface SagaView {
  saga_id: string;
  saga_type: string;
  version: number;
  status: string;
  reason: string | null;
  error: { code: string; message: string } | null;
  created_at: string;
  ended_at: string | null;
  results: Record<string, unknown>;
}
interface StepView {
  name: string;
  group: string | null;
  status: string;
  attempts: number;
  duration_ms: number | null;
  last_error: { code: string; message: string } | null;
  compensation: { status: string; attempts: number; last_error: { message: string } | null };
}
interface EventView {
  seq: number;
  type: string;
  at: string;
  data: Record<string, unknown>;
}

export type { SagaView, StepView, EventView };

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));

export function sagaLine(s: SagaView): string {
  return `${s.saga_id}  ${pad(s.saga_type, 22)} v${s.version}  ${pad(s.status + (s.reason ? ` (${s.reason})` : ""), 26)} ${s.created_at}`;
}

export function timeline(saga: SagaView, steps: StepView[], events: EventView[]): string {
  const lines: string[] = [];
  const took = saga.ended_at
    ? ` in ${Date.parse(saga.ended_at) - Date.parse(saga.created_at)} ms`
    : "";
  lines.push(`saga ${saga.saga_id}  ${saga.saga_type} v${saga.version}`);
  lines.push(
    `status ${saga.status}${saga.reason ? ` (reason: ${saga.reason})` : ""}${took}, started ${saga.created_at}`,
  );
  if (saga.error) lines.push(`error  ${saga.error.code}: ${saga.error.message}`);
  lines.push("", "steps");
  for (const s of steps) {
    const name = s.group ? `${s.group}/${s.name}` : s.name;
    const attempts = `${s.attempts} attempt${s.attempts === 1 ? "" : "s"}`;
    const duration = s.duration_ms === null ? "" : `${s.duration_ms} ms`;
    const comp =
      s.compensation.status === "not_needed" || s.compensation.status === "none"
        ? ""
        : `compensation ${s.compensation.status}`;
    lines.push(
      `  ${pad(name, 28)} ${pad(s.status, 20)} ${pad(attempts, 11)} ${pad(duration, 9)} ${comp}`.trimEnd(),
    );
    if (s.last_error)
      lines.push(`  ${" ".repeat(28)} last error ${s.last_error.code}: ${s.last_error.message}`);
    if (s.compensation.last_error)
      lines.push(`  ${" ".repeat(28)} compensation error: ${s.compensation.last_error.message}`);
  }
  lines.push("", "timeline");
  const start = events[0] ? Date.parse(events[0].at) : 0;
  for (const e of events) {
    const offset = `+${Date.parse(e.at) - start} ms`;
    const step = typeof e.data.step === "string" ? ` ${e.data.step}` : "";
    const attempt = typeof e.data.attempt === "number" ? ` #${e.data.attempt}` : "";
    const error = e.data.error as { message?: string } | undefined;
    const extra =
      typeof e.data.reason === "string"
        ? ` (${e.data.reason})`
        : error?.message
          ? ` — ${error.message}`
          : "";
    lines.push(`  ${pad(offset, 11)} ${e.type}${step}${attempt}${extra}`);
  }
  return lines.join("\n");
}
