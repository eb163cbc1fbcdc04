import { useState } from "preact/hooks";
import {
  api,
  ApiError,
  may,
  query,
  type AllPage,
  type EventTypes,
  type Session,
  type StreamPage,
} from "../api.js";
import { navigate } from "../router.js";
import { Confirm, ErrorLine, formatTime, useData } from "../ui.js";

export function EventsPage({ session, search }: { session: Session; search: URLSearchParams }) {
  const stream = search.get("stream");
  const type = search.get("type") ?? "";
  const [after, setAfter] = useState<string[]>(["0"]);
  const types = useData(() => api<EventTypes>("GET", "/events/types"), [], { everyMs: 5000 });
  const all = useData(
    () =>
      api<AllPage>("GET", `/events/all${query({ after: after[after.length - 1], limit: "50" })}`),
    [after.join(",")],
  );
  if (types.error instanceof ApiError && types.error.status === 404)
    return (
      <section>
        <h1>Events</h1>
        <p>This server has no event store.</p>
      </section>
    );
  if (stream) return <StreamView id={stream} session={session} />;
  const shown = (all.data?.events ?? []).filter((e) => !type || e.type === type);
  return (
    <section>
      <h1>Events</h1>
      <ErrorLine error={types.error ?? all.error} />
      <h2>Types</h2>
      <div class="table-wrap">
        <table aria-label="Event types">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Events</th>
              <th scope="col">Last</th>
            </tr>
          </thead>
          <tbody>
            {types.data?.types.map((t) => (
              <tr key={t.type}>
                <td>
                  <button
                    type="button"
                    class="link"
                    aria-pressed={type === t.type}
                    onClick={() =>
                      navigate(
                        `/events${type === t.type ? "" : `?type=${encodeURIComponent(t.type)}`}`,
                        true,
                      )
                    }
                  >
                    {t.type}
                  </button>
                </td>
                <td>{t.count}</td>
                <td>{formatTime(t.last_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {types.data && types.data.types.length === 0 ? <p class="empty">No events yet.</p> : null}
      <h2>All events{type ? ` of type ${type}` : ""} (oldest first)</h2>
      <EventTable events={shown} />
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled={after.length < 2}
          onClick={() => setAfter(after.slice(0, -1))}
        >
          ← Earlier
        </button>
        <button
          type="button"
          disabled={!all.data || all.data.events.length < 50}
          onClick={() => all.data && setAfter([...after, String(all.data.next_after)])}
        >
          Later →
        </button>
      </nav>
    </section>
  );
}

function EventTable({ events }: { events: AllPage["events"] }) {
  return (
    <div class="table-wrap">
      <table aria-label="Events" class="events">
        <thead>
          <tr>
            <th scope="col">Position</th>
            <th scope="col">Stream</th>
            <th scope="col">Type</th>
            <th scope="col">At</th>
            <th scope="col">Data</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.event_id}>
              <td>{e.global_position}</td>
              <td>
                <button
                  type="button"
                  class="link"
                  onClick={() => navigate(`/events?stream=${encodeURIComponent(e.stream_id)}`)}
                >
                  {e.stream_id}
                </button>{" "}
                <span class="muted">v{e.stream_version}</span>
              </td>
              <td>{e.type}</td>
              <td>{formatTime(e.created_at)}</td>
              <td>
                <code class="data">{JSON.stringify(e.data)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function StreamView({ id, session }: { id: string; session: Session }) {
  const page = useData(
    () => api<StreamPage>("GET", `/events/stream/${encodeURIComponent(id)}?limit=500`),
    [id],
  );
  const [confirm, setConfirm] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  return (
    <section>
      <p class="crumbs">
        <button type="button" class="link" onClick={() => navigate("/events")}>
          Events
        </button>{" "}
        / stream <code>{id}</code>
      </p>
      <h1>Stream {id}</h1>
      <ErrorLine error={page.error} />
      {may(session, "operator") ? (
        <div class="actions">
          <button type="button" onClick={() => setConfirm(true)}>
            Replay to the bus…
          </button>
        </div>
      ) : null}
      {done ? (
        <p class="ok" role="status">
          {done}
        </p>
      ) : null}
      {confirm ? (
        <Confirm
          title="Replay this stream?"
          confirmLabel="Replay"
          onClose={() => setConfirm(false)}
          onConfirm={async () => {
            const r = await api<{ replayed?: number }>(
              "POST",
              `/events/replay/${encodeURIComponent(id)}`,
            );
            setDone(`replayed ${r.replayed ?? "the"} event(s)`);
          }}
        >
          <p>
            Its {page.data?.events.length ?? 0} event(s) are published to the bus again with their
            original ids: waiting steps may resume, and triggers do not start a saga twice for the
            same event.
          </p>
        </Confirm>
      ) : null}
      <EventTable events={page.data?.events ?? []} />
    </section>
  );
}
