import { useEffect, useRef, useState } from "preact/hooks";
import { api, may, type ApiEvent, type Saga, type Session, type Step } from "../api.js";
import { readSse } from "../sse.js";
import type { FaultDirective } from "../types.js";
import { barDuration, buildTimeline, type Timeline } from "../timeline.js";
import { Confirm, ErrorLine, formatMs, formatTime, Json, Link, StatusBadge } from "../ui.js";

const ACTIVE = new Set(["running", "compensating"]);

export function SagaPage({ id, session }: { id: string; session: Session }) {
  const [saga, setSaga] = useState<Saga | null>(null);
  const [steps, setSteps] = useState<Step[]>([]);
  const [events, setEvents] = useState<ApiEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [stream, setStream] = useState<"open" | "retrying" | "ended" | "idle">("idle");
  const [confirm, setConfirm] = useState<"cancel" | "retry" | null>(null);
  const [now, setNow] = useState(Date.now());
  const pending = useRef<number | null>(null);
  // The stream ends with the saga; a retry (here or elsewhere) resumes it: read it again then.
  const [generation, setGeneration] = useState(0);
  const lastSeq = useRef(0);
  lastSeq.current = events.length > 0 ? events[events.length - 1]!.seq : 0;

  const load = async () => {
    try {
      const [s, st] = await Promise.all([
        api<Saga>("GET", `/sagas/${encodeURIComponent(id)}`),
        api<{ steps: Step[] }>("GET", `/sagas/${encodeURIComponent(id)}/steps`),
      ]);
      setSaga(s);
      setSteps(st.steps);
      setError(null);
      return s;
    } catch (e) {
      setError(e);
      return null;
    }
  };
  const loadSoon = () => {
    if (pending.current !== null) return;
    pending.current = window.setTimeout(() => {
      pending.current = null;
      void load();
    }, 150);
  };

  useEffect(() => {
    const abort = new AbortController();
    if (generation === 0) {
      setEvents([]);
      setSaga(null);
    }
    // The stream sends the whole history first, then each transition; it ends with the saga.
    void load().then((s) => {
      if (!s || abort.signal.aborted) return;
      const seen = new Set<number>();
      void readSse(
        `/sagas/${encodeURIComponent(id)}/stream`,
        (m) => {
          const event = JSON.parse(m.data) as ApiEvent;
          if (seen.has(event.seq)) return;
          seen.add(event.seq);
          setEvents((list) =>
            list.some((e) => e.seq === event.seq)
              ? list
              : [...list, event].sort((a, b) => a.seq - b.seq),
          );
          loadSoon();
        },
        abort.signal,
        (state) => {
          setStream(state);
          if (state === "ended") void load();
        },
        // A stream read again (after a retry) goes on from the last event shown: the history
        // holds the earlier end (SagaFailed), where a stream from the start would stop.
        generation === 0 || lastSeq.current === 0 ? null : String(lastSeq.current),
      );
    });
    return () => abort.abort();
  }, [id, generation]);
  useEffect(() => {
    if (stream === "ended" && saga && saga.event_count > events.length) setGeneration((g) => g + 1);
  }, [stream, saga?.event_count, events.length]);
  useEffect(() => {
    if (!saga || !ACTIVE.has(saga.status)) return;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [saga?.status]);

  if (!saga) return error ? <ErrorLine error={error} /> : <p>Loading…</p>;
  const timeline = buildTimeline(events);
  const started = events[0]?.type === "SagaStarted" ? events[0].data : null;
  const fault = (started as { fault?: FaultDirective } | null)?.fault;
  const canCancel = may(session, "operator") && saga.status === "running";
  const canRetry = may(session, "operator") && saga.status === "failed";
  const duration = (saga.ended_at ? Date.parse(saga.ended_at) : now) - Date.parse(saga.created_at);

  return (
    <section>
      <p class="crumbs">
        <Link to="/sagas">Sagas</Link> / <code>{saga.saga_id}</code>
      </p>
      <div class="title-row">
        <h1>
          {saga.saga_type} <span class="muted">v{saga.version}</span>{" "}
          <StatusBadge status={saga.status} />
        </h1>
        <span class={`stream ${stream}`} data-testid="stream-state">
          {stream === "open"
            ? "● live"
            : stream === "retrying"
              ? "reconnecting…"
              : stream === "ended"
                ? "ended"
                : ""}
        </span>
      </div>
      <dl class="facts">
        <div>
          <dt>Created</dt>
          <dd>{formatTime(saga.created_at)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd data-testid="duration">{formatMs(duration)}</dd>
        </div>
        <div>
          <dt>Reason</dt>
          <dd>{saga.reason ?? "–"}</dd>
        </div>
        <div>
          <dt>Events</dt>
          <dd>{saga.event_count}</dd>
        </div>
        {Object.entries(saga.attributes).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{String(v)}</dd>
          </div>
        ))}
        {saga.correlation_id ? (
          <div>
            <dt>Correlation</dt>
            <dd>
              <code>{saga.correlation_id}</code>
            </dd>
          </div>
        ) : null}
      </dl>
      {fault ? (
        <p class="rehearsal" data-testid="rehearsal">
          <strong>Rehearsal:</strong> started with a fault injected at <code>{fault.step}</code> (
          {fault.phase === "compensation" ? "its compensation" : "its action"}, attempt{" "}
          {fault.attempt}, {fault.retryable ? "retryable" : "not retryable"}).
        </p>
      ) : null}
      {saga.error ? (
        <div class="error-box" role="status">
          <strong>{saga.failed_phase === "compensation" ? "Compensation failed" : "Error"}:</strong>{" "}
          <code>{saga.error.code}</code> {saga.error.message}
        </div>
      ) : null}
      {canCancel || canRetry ? (
        <div class="actions" aria-label="Actions">
          {canCancel ? (
            <button type="button" class="danger" onClick={() => setConfirm("cancel")}>
              Cancel saga…
            </button>
          ) : null}
          {canRetry ? (
            <button type="button" class="primary" onClick={() => setConfirm("retry")}>
              Retry…
            </button>
          ) : null}
        </div>
      ) : null}
      {confirm === "cancel" ? (
        <Confirm
          title="Cancel this saga?"
          confirmLabel="Cancel and compensate"
          danger
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            await api("POST", `/sagas/${saga.saga_id}/cancel`);
            await load();
          }}
        >
          <p>
            The running step's signal is aborted and no further step starts. Then the{" "}
            {timeline.completionOrder.length} completed step(s) are compensated in reverse order
            {timeline.completionOrder.length > 0
              ? `: ${[...timeline.completionOrder].reverse().join(" → ")}`
              : ""}
            . The saga ends as <strong>compensated</strong> (reason cancelled).
          </p>
        </Confirm>
      ) : null}
      {confirm === "retry" ? (
        <Confirm
          title="Retry this saga?"
          confirmLabel="Retry"
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            await api("POST", `/sagas/${saga.saga_id}/retry`);
            await load();
            setGeneration((g) => g + 1);
          }}
        >
          <p>
            {saga.failed_phase === "compensation"
              ? "The compensation that failed runs again with a fresh retry budget, then the remaining compensations."
              : "The paused step runs again with a fresh retry budget, and the saga goes on."}{" "}
            Make sure what made it fail is fixed first.
          </p>
        </Confirm>
      ) : null}

      <h2>Timeline</h2>
      <Gantt timeline={timeline} now={now} />
      {timeline.compensationOrder.length > 0 ? (
        <p class="order" data-testid="compensation-order">
          Completed in order {timeline.completionOrder.join(" → ")}; compensated in reverse:{" "}
          {timeline.compensationOrder.join(" → ")}.
        </p>
      ) : null}

      <h2>Steps</h2>
      <div class="table-wrap">
        <table aria-label="Steps">
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Duration</th>
              <th scope="col">Error</th>
              <th scope="col">Compensation</th>
            </tr>
          </thead>
          <tbody>
            {steps.map((s) => (
              <tr key={s.name}>
                <td>
                  {s.group ? <span class="muted">{s.group} / </span> : null}
                  {s.name}
                </td>
                <td>
                  <StatusBadge status={s.status} />
                </td>
                <td>{s.attempts}</td>
                <td>{formatMs(s.duration_ms)}</td>
                <td>
                  {s.last_error ? (
                    <>
                      <code>{s.last_error.code}</code> {s.last_error.message}
                    </>
                  ) : (
                    "–"
                  )}
                </td>
                <td>
                  {s.compensation.status}
                  {s.compensation.last_error ? (
                    <>
                      {" "}
                      <code>{s.compensation.last_error.code}</code>{" "}
                      {s.compensation.last_error.message}
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="two">
        <div>
          <h2>Input</h2>
          <Json value={saga.input} label="Input" />
        </div>
        <div>
          <h2>Results</h2>
          <Json value={saga.results} label="Results" />
        </div>
      </div>
      <details>
        <summary>
          <h2 class="inline">Event history ({events.length})</h2>
        </summary>
        <div class="table-wrap">
          <table aria-label="Event history" class="events">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Event</th>
                <th scope="col">At</th>
                <th scope="col">Data</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.seq}>
                  <td>{e.seq}</td>
                  <td>{e.type}</td>
                  <td>{new Date(e.at).toISOString().slice(11, 23)}</td>
                  <td>
                    <code class="data">{JSON.stringify(e.data)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </section>
  );
}

function Gantt({ timeline, now }: { timeline: Timeline; now: number }) {
  const end = Math.max(
    timeline.end ?? now,
    ...timeline.rows.flatMap((r) => r.bars.map((b) => b.end ?? now)),
  );
  const span = Math.max(1, end - timeline.start);
  const pct = (t: number) => `${(((t - timeline.start) / span) * 100).toFixed(3)}%`;
  if (timeline.rows.length === 0) return <p class="muted">No step has started yet.</p>;
  return (
    <div class="gantt">
      <div role="table" aria-label="Timeline of step attempts and compensations">
        <div class="g-row g-head" role="row">
          <span role="columnheader">Step</span>
          <span role="columnheader" class="g-axis">
            <span>0</span>
            <span>{formatMs(span / 2)}</span>
            <span>{formatMs(span)}</span>
          </span>
        </div>
        {timeline.rows.map((row) => (
          <div class={`g-row ${row.phase}`} role="row" key={row.key} data-row={row.key}>
            <span role="rowheader" class="g-label">
              {row.order !== null ? <span class="g-order">#{row.order}</span> : null}
              {row.label}
            </span>
            <span role="cell" class="g-track">
              {row.bars.map((bar, i) => {
                const text = `${bar.label}: ${formatMs(barDuration(bar, now))}${
                  bar.error ? ` — ${bar.error.code}: ${bar.error.message}` : ""
                }${bar.end === null ? " (under way)" : ""}`;
                return (
                  <span
                    key={i}
                    class={`bar k-${bar.kind} o-${bar.outcome}${bar.end === null ? " open" : ""}`}
                    style={{
                      left: pct(bar.start),
                      width: `max(3px, calc(${pct(bar.end ?? now)} - ${pct(bar.start)}))`,
                    }}
                    title={text}
                    tabIndex={0}
                    aria-label={text}
                  >
                    <span class="bar-text">{formatMs(barDuration(bar, now))}</span>
                  </span>
                );
              })}
            </span>
          </div>
        ))}
      </div>
      <ul class="legend" aria-label="Legend">
        <li>
          <span class="bar k-attempt o-ok" /> attempt
        </li>
        <li>
          <span class="bar k-attempt o-failed" /> failed attempt
        </li>
        <li>
          <span class="bar k-retry-delay" /> retry delay
        </li>
        <li>
          <span class="bar k-wait" /> wait / sleep / child saga
        </li>
        <li>
          <span class="bar k-compensation o-ok" /> compensation
        </li>
      </ul>
    </div>
  );
}
