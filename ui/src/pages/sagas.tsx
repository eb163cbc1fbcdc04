import { useState } from "preact/hooks";
import {
  api,
  may,
  query,
  STATUSES,
  type Saga,
  type SagaPage,
  type SagaType,
  type Session,
  type Summary,
} from "../api.js";
import { navigate } from "../router.js";
import { ErrorLine, formatMs, formatTime, Link, shortId, StatusBadge, useData } from "../ui.js";

const toIso = (local: string | null) => (local ? new Date(local).toISOString() : undefined);

/** Attribute filters typed as `key=value, key2=value2`. */
export function parseAttributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const at = part.indexOf("=");
    if (at > 0) out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return out;
}

export function SagasPage({ session, search }: { session: Session; search: URLSearchParams }) {
  const status = search.get("status") ?? "";
  const type = search.get("type") ?? "";
  const after = search.get("after") ?? "";
  const before = search.get("before") ?? "";
  const attrs = search.get("attrs") ?? "";
  const attention = search.get("attention") === "1";
  const [cursors, setCursors] = useState<string[]>([]);
  const [live, setLive] = useState(true);
  const cursor = cursors[cursors.length - 1];
  const key = search.toString();

  const filter = {
    status: attention ? "failed" : status,
    saga_type: type,
    created_after: toIso(after),
    created_before: toIso(before),
  };
  const page = useData(
    () =>
      api<SagaPage>(
        "GET",
        `/sagas/${query({ ...filter, ...parseAttributes(attrs), cursor, limit: "25" })}`,
      ),
    [key, cursor],
    { everyMs: 3000, live: live && !cursor },
  );
  const summary = useData(
    () =>
      api<Summary>(
        "GET",
        `/console/summary${query({ saga_type: type, created_after: filter.created_after, created_before: filter.created_before })}`,
      ),
    [type, after, before],
    { everyMs: 5000, live },
  );
  const types = useData(() => api<{ types: SagaType[] }>("GET", "/sagas/types/available"), []);

  const set = (patch: Record<string, string>) => {
    const next = new URLSearchParams(search);
    for (const [k, v] of Object.entries(patch))
      if (v) next.set(k, v);
      else next.delete(k);
    setCursors([]);
    navigate(`/sagas${next.toString() ? `?${next.toString()}` : ""}`, true);
  };
  const onFilter = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    set({
      type: (f.get("type") as string | null) ?? "",
      after: (f.get("after") as string | null) ?? "",
      before: (f.get("before") as string | null) ?? "",
      attrs: (f.get("attrs") as string | null) ?? "",
    });
  };

  const demo = async (fail: boolean) => {
    const saga = await api<Saga>("POST", "/sagas/start", {
      saga_type: "demo_order",
      input: {
        order_id: `o-${Date.now().toString(36)}`,
        step_ms: 1500,
        ...(fail ? { fail_at: "ship_order" } : {}),
      },
    });
    navigate(`/sagas/${saga.saga_id}`);
  };
  const hasDemo = types.data?.types.some((t) => t.saga_type === "demo_order");

  return (
    <section>
      <div class="title-row">
        <h1>Sagas</h1>
        <label class="live">
          <input
            type="checkbox"
            checked={live}
            onChange={(e) => setLive(e.currentTarget.checked)}
          />{" "}
          Live updates
        </label>
      </div>
      {may(session, "operator") && hasDemo ? (
        <div class="demo" data-testid="demo">
          <span>Try it:</span>
          <button type="button" class="primary" onClick={() => void demo(false)}>
            Start an order that completes
          </button>
          <button type="button" onClick={() => void demo(true)}>
            Start an order that compensates
          </button>
        </div>
      ) : null}
      <ul class="counts" aria-label="Sagas per status">
        {STATUSES.map((s) => {
          const c = summary.data?.counts.find((x) => x.status === s);
          const active = (attention ? "failed" : status).split(",").includes(s);
          return (
            <li key={s}>
              <button
                type="button"
                class={`count s-${s} ${active ? "on" : ""}`}
                aria-pressed={active}
                data-testid={`count-${s}`}
                onClick={() => set({ status: active ? "" : s, attention: "" })}
              >
                <span class="n">{c ? `${c.count}${c.capped ? "+" : ""}` : "…"}</span>
                <span>{s}</span>
              </button>
            </li>
          );
        })}
        <li>
          <button
            type="button"
            class={`count attention ${attention ? "on" : ""}`}
            aria-pressed={attention}
            onClick={() => set({ attention: attention ? "" : "1", status: "" })}
          >
            <span class="n">⚠</span>
            <span>needs attention</span>
          </button>
        </li>
      </ul>
      <form class="filters" onSubmit={onFilter} key={key}>
        <label>
          Type
          <select name="type" value={type}>
            <option value="">any</option>
            {types.data?.types.map((t) => (
              <option key={t.saga_type} value={t.saga_type}>
                {t.saga_type}
              </option>
            ))}
          </select>
        </label>
        <label>
          Business keys
          <input name="attrs" placeholder="orderId=o-1, userId=u-2" value={attrs} />
        </label>
        <label>
          Created after
          <input name="after" type="datetime-local" value={after} />
        </label>
        <label>
          Created before
          <input name="before" type="datetime-local" value={before} />
        </label>
        <button type="submit">Filter</button>
        <button
          type="button"
          class="link"
          onClick={() => (setCursors([]), navigate("/sagas", true))}
        >
          Clear
        </button>
      </form>
      <ErrorLine error={page.error} />
      <div class="table-wrap">
        <table class="sagas" aria-label="Sagas, newest first">
          <thead>
            <tr>
              <th scope="col">Saga</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Business keys</th>
              <th scope="col">Created</th>
              <th scope="col">Duration</th>
            </tr>
          </thead>
          <tbody>
            {page.data?.items.map((s) => (
              <tr key={s.saga_id} data-status={s.status}>
                <td>
                  <Link to={`/sagas/${s.saga_id}`}>
                    <code>{shortId(s.saga_id)}</code>
                  </Link>
                </td>
                <td>
                  {s.saga_type} <span class="muted">v{s.version}</span>
                </td>
                <td>
                  <StatusBadge status={s.status} />
                  {s.reason ? <span class="muted"> {s.reason}</span> : null}
                </td>
                <td class="attrs">
                  {Object.entries(s.attributes)
                    .map(([k, v]) => `${k}=${String(v)}`)
                    .join(", ")}
                </td>
                <td>{formatTime(s.created_at)}</td>
                <td>
                  {formatMs(
                    (s.ended_at ? Date.parse(s.ended_at) : Date.now()) - Date.parse(s.created_at),
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {page.data && page.data.items.length === 0 ? <p class="empty">No sagas match.</p> : null}
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled={cursors.length === 0}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          ← Newer
        </button>
        <span>Page {cursors.length + 1}</span>
        <button
          type="button"
          disabled={!page.data?.next_cursor}
          onClick={() => page.data?.next_cursor && setCursors([...cursors, page.data.next_cursor])}
        >
          Older →
        </button>
      </nav>
    </section>
  );
}
