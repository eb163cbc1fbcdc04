import { Counter, Histogram, type Registry } from "prom-client";

/**
 * HTTP RED metrics: requests, errors (by `status`) and latency, by method, route template
 * (`/sagas/:id`, never the raw URL: ids would make a series each) and status code.
 */
export class HttpMetrics {
  readonly requests: Counter<"method" | "route" | "status">;
  readonly duration: Histogram<"method" | "route" | "status">;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: "http_requests_total",
      help: "HTTP requests answered, by method, route template and status code.",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: "http_request_duration_seconds",
      help: "Time from request to response, by method, route template and status code.",
      labelNames: ["method", "route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  }

  /** `route` is the matched template, or null when no route matched (one `unmatched` series). */
  observe(method: string, route: string | null, status: number, seconds: number): void {
    const labels = {
      method: boundedMethod(method),
      route: route ?? "unmatched",
      status: String(status),
    };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
/** A client picks the method: anything unusual shares one series. */
function boundedMethod(method: string): string {
  return METHODS.has(method) ? method : "other";
}
