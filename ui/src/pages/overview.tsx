import { api, type Overview } from "../api.js";
import { ErrorLine, formatMs, percent, useData } from "../ui.js";

export function OverviewPage() {
  const { data, error } = useData(() => api<Overview>("GET", "/console/overview"), [], {
    everyMs: 5000,
  });
  if (!data) return error ? <ErrorLine error={error} /> : <p>Loading…</p>;
  const t = data.totals;
  const max = Math.max(1, ...data.series.map((b) => b.started));
  const maxP50 = Math.max(1, ...data.series.map((b) => b.duration_ms.p50 ?? 0));
  const bw = 100 / data.series.length;
  return (
    <section>
      <h1>Overview</h1>
      <p class="muted">
        The newest {data.sample} saga(s)
        {data.truncated ? " (more exist; older ones are not counted)" : ""}, from{" "}
        {new Date(data.from).toLocaleString()} to now, in buckets of {formatMs(data.bucket_ms)}.
      </p>
      <ul class="cards" aria-label="Totals">
        <li>
          <span class="n" data-testid="ov-started">
            {t.started}
          </span>{" "}
          started
        </li>
        <li>
          <span class="n">{percent(t.success_rate)}</span> completed
        </li>
        <li>
          <span class="n">{percent(t.compensation_rate)}</span> compensated
        </li>
        <li>
          <span class="n">{percent(t.failure_rate)}</span> failed
        </li>
        <li>
          <span class="n">{formatMs(t.duration_ms.p50)}</span> p50 duration
        </li>
        <li>
          <span class="n">{formatMs(t.duration_ms.p90)}</span> p90
        </li>
        <li>
          <span class="n">{formatMs(t.duration_ms.p99)}</span> p99
        </li>
      </ul>
      <h2>Throughput and outcomes</h2>
      <svg
        class="chart"
        viewBox="0 0 100 40"
        preserveAspectRatio="none"
        role="img"
        aria-label={`Sagas started per ${formatMs(data.bucket_ms)}, by outcome`}
      >
        {data.series.map((b, i) => {
          const h = (n: number) => (n / max) * 36;
          let y = 40;
          return (
            <g key={b.at}>
              <title>
                {new Date(b.at).toLocaleTimeString()}: {b.started} started, {b.completed} completed,{" "}
                {b.compensated} compensated, {b.failed} failed, {b.active} active
              </title>
              {(["completed", "compensated", "failed", "active"] as const).map((k) => {
                const height = h(b[k]);
                y -= height;
                return (
                  <rect
                    key={k}
                    class={`c-${k}`}
                    x={i * bw + bw * 0.1}
                    y={y}
                    width={bw * 0.8}
                    height={height}
                  />
                );
              })}
            </g>
          );
        })}
      </svg>
      <ul class="legend">
        <li>
          <span class="sw c-completed" /> completed
        </li>
        <li>
          <span class="sw c-compensated" /> compensated
        </li>
        <li>
          <span class="sw c-failed" /> failed
        </li>
        <li>
          <span class="sw c-active" /> still active
        </li>
      </ul>
      <h2>Median duration over time</h2>
      <svg
        class="chart small"
        viewBox="0 0 100 30"
        preserveAspectRatio="none"
        role="img"
        aria-label="Median saga duration per bucket"
      >
        {data.series.map((b, i) =>
          b.duration_ms.p50 === null ? null : (
            <rect
              key={b.at}
              class="c-p50"
              x={i * bw + bw * 0.3}
              width={bw * 0.4}
              y={30 - (b.duration_ms.p50 / maxP50) * 27}
              height={(b.duration_ms.p50 / maxP50) * 27}
            >
              <title>
                {new Date(b.at).toLocaleTimeString()}: median {formatMs(b.duration_ms.p50)}, p90{" "}
                {formatMs(b.duration_ms.p90)}
              </title>
            </rect>
          ),
        )}
      </svg>
      <p class="muted">Highest median: {formatMs(maxP50)}</p>
      <h2>By saga type</h2>
      <div class="table-wrap">
        <table aria-label="By saga type">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Started</th>
              <th scope="col">Completed</th>
              <th scope="col">Compensated</th>
              <th scope="col">Failed</th>
              <th scope="col">p50</th>
              <th scope="col">p90</th>
              <th scope="col">p99</th>
            </tr>
          </thead>
          <tbody>
            {data.by_type.map((r) => (
              <tr key={r.saga_type}>
                <td>{r.saga_type}</td>
                <td>{r.started}</td>
                <td>{percent(r.success_rate)}</td>
                <td>{percent(r.compensation_rate)}</td>
                <td>{percent(r.failure_rate)}</td>
                <td>{formatMs(r.duration_ms.p50)}</td>
                <td>{formatMs(r.duration_ms.p90)}</td>
                <td>{formatMs(r.duration_ms.p99)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
