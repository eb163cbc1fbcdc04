import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../chaos/lib/rng.js";
import { waitUntil } from "./time.js";

/** Throws a clear error when a Prometheus binary (Debian's `prometheus` package) is missing. */
export function requireBinary(name: "prometheus" | "promtool"): string {
  try {
    return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(
      `${name} is not installed: this test needs Debian's prometheus package ` +
        "(apt-get install -y prometheus; .ci/run installs it)",
    );
  }
}

export interface QueryResult {
  status: string;
  error?: string;
  data?: {
    resultType: string;
    result: { metric: Record<string, string>; value: [number, string] }[];
  };
}

/**
 * A Prometheus of the test's own: the binary run directly (never the system service) on a
 * loopback port, its TSDB in a temp folder, scraping `targets` every second.
 */
export class PrometheusProcess {
  private child: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), "saga-prometheus-"));
  private readonly killOnExit = () => this.child?.kill("SIGKILL");
  private output = "";

  private constructor(readonly port: number) {
    process.once("exit", this.killOnExit);
  }

  static async start(targets: string[]): Promise<PrometheusProcess> {
    const binary = requireBinary("prometheus");
    const prometheus = new PrometheusProcess(await freePort());
    const config = join(prometheus.dir, "prometheus.yml");
    writeFileSync(
      config,
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: saga",
        "    static_configs:",
        `      - targets: [${targets.map((t) => JSON.stringify(t)).join(", ")}]`,
        "",
      ].join("\n"),
    );
    const child = spawn(
      binary,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(prometheus.dir, "data")}`,
        `--web.listen-address=127.0.0.1:${prometheus.port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.child = child;
    const keep = (chunk: Buffer) => {
      prometheus.output = (prometheus.output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    await waitUntil(
      () => `prometheus ready (output: ${prometheus.output})`,
      async () => {
        if (child.exitCode !== null)
          throw new Error(`prometheus exited (${child.exitCode}): ${prometheus.output}`);
        return fetch(`${prometheus.url}/-/ready`).then(
          (r) => r.ok,
          () => false,
        );
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    return prometheus;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** An instant query through the HTTP API. */
  async query(expr: string): Promise<QueryResult> {
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await response.json()) as QueryResult;
  }

  /** The scrape targets' health ("up", "down", "unknown") with their last error. */
  async targets(): Promise<{ health: string; lastError: string }[]> {
    const response = await fetch(`${this.url}/api/v1/targets`);
    const body = (await response.json()) as {
      data: { activeTargets: { health: string; lastError: string }[] };
    };
    return body.data.activeTargets;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    this.child = null;
    process.off("exit", this.killOnExit);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
