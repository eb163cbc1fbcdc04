import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { SagaMetrics } from "../../src/telemetry/metrics.js";

/**
 * The compose files, parsed and checked: health-gated start order, no database port published,
 * secrets through files, named volumes, scalable workers, and monitoring that scrapes metrics the
 * service really exports. (deploy/test-image.sh also runs `docker compose config` where it can.)
 */
interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  ports?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: unknown };
  read_only?: boolean;
  cap_drop?: string[];
  container_name?: string;
  deploy?: { replicas?: number };
  stop_grace_period?: string;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string; environment?: string }>;
}

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const load = (path: string) => parse(read(path), { merge: true }) as Compose;
const FILES = ["docker-compose.yml", "docker-compose.minimal.yml"] as const;
const SAGA_IMAGE = /^saga-orchestrator:/;

describe.each(FILES)("%s", (file) => {
  const compose = load(file);
  const services = Object.entries(compose.services);
  const saga = services.filter(([, s]) => SAGA_IMAGE.test(s.image ?? ""));

  it("has the service, PostgreSQL and Redis; the full stack adds workers and monitoring", () => {
    const names = Object.keys(compose.services);
    for (const name of ["api", "postgres", "redis"]) expect(names).toContain(name);
    if (file === "docker-compose.yml") {
      for (const name of ["worker", "migrate", "prometheus", "grafana"])
        expect(names).toContain(name);
    }
    expect(compose.services.api!.command).toEqual(["serve"]);
  });

  it("starts in order of health: every dependency is waited for, not just started", () => {
    for (const [name, s] of services) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        const target = compose.services[dep];
        expect(target, `${name} depends on ${dep}`).toBeDefined();
        if (condition === "service_healthy") {
          // The saga image has a HEALTHCHECK of its own (Dockerfile); others declare one here.
          const hasCheck =
            target!.healthcheck !== undefined || SAGA_IMAGE.test(target!.image ?? "");
          expect(hasCheck, `${dep} needs a healthcheck for ${name}`).toBe(true);
        } else if (condition === "service_completed_successfully") {
          expect(target!.command).toEqual(["migrate"]);
        } else {
          expect(["grafana"]).toContain(name); // only the dashboard waits on a mere start
        }
      }
    }
    for (const [name, s] of saga) {
      if (s.command?.[0] === "migrate") continue;
      expect(s.depends_on?.postgres?.condition, name).toBe("service_healthy");
      expect(s.depends_on?.redis?.condition, name).toBe("service_healthy");
    }
    expect(Dockerfile()).toMatch(/^HEALTHCHECK /m);
  });

  it("publishes no database port, and monitoring only on localhost", () => {
    expect(compose.services.postgres!.ports).toBeUndefined();
    expect(compose.services.redis!.ports).toBeUndefined();
    for (const [name, s] of services) {
      for (const port of s.ports ?? []) {
        if (name === "api") expect(port).toBe("8008:8008");
        else expect(port, `${name} publishes ${port}`).toMatch(/^127\.0\.0\.1:/);
      }
    }
  });

  it("passes secrets as files, never as values in the file", () => {
    const declared = compose.secrets ?? {};
    for (const [name, s] of services) {
      for (const secret of s.secrets ?? []) {
        expect(declared[secret]?.file, `${name} uses secret ${secret}`).toMatch(
          /^\.\/deploy\/compose\/secrets\//,
        );
      }
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        expect(String(value), `${name} ${key}`).not.toMatch(/:\/\/[^/\s]*:[^@\s]*@/);
        const secretBearing = /PASSWORD|SECRET|^API_KEYS?$|^DATABASE_URL$|^REDIS_URL$/.test(key);
        if (secretBearing && !key.endsWith("_FILE")) {
          throw new Error(`${file}: ${name} sets ${key} as a value; use ${key}_FILE`);
        }
        if (key.endsWith("_FILE")) {
          const secret = String(value).replace(/^\/run\/secrets\//, "");
          expect(s.secrets, `${name} ${key}`).toContain(secret);
        }
      }
    }
    expect(read("deploy/compose/secrets/.gitignore")).toMatch(/^\*$/m);
  });

  it("keeps data in named volumes and runs the saga containers locked down", () => {
    const named = Object.keys(compose.volumes ?? {});
    for (const [service, path] of [
      ["postgres", "/var/lib/postgresql/data"],
      ["redis", "/data"],
    ] as const) {
      const mount = compose.services[service]!.volumes?.find((v) => v.endsWith(`:${path}`));
      expect(mount, `${service} keeps ${path}`).toBeDefined();
      expect(named).toContain(mount!.split(":")[0]);
    }
    for (const [name, s] of saga) {
      expect(s.read_only, name).toBe(true);
      expect(s.cap_drop, name).toEqual(["ALL"]);
      expect(s.build, name).toBe(".");
      expect(s.stop_grace_period, name).toBeDefined();
    }
  });

  if (file === "docker-compose.yml") {
    it("scales workers: no fixed name, no host port", () => {
      const worker = compose.services.worker!;
      expect(worker.command).toEqual(["worker"]);
      expect(worker.container_name).toBeUndefined();
      expect(worker.ports).toBeUndefined();
      expect(worker.deploy?.replicas).toBeGreaterThanOrEqual(2);
    });

    it("Prometheus scrapes the API and each worker; Grafana's panels use exported metrics", async () => {
      const prometheus = parse(read("deploy/prometheus/prometheus.yml")) as {
        scrape_configs: {
          job_name: string;
          static_configs?: { targets: string[] }[];
          dns_sd_configs?: { names: string[]; port: number }[];
        }[];
      };
      const jobs = Object.fromEntries(prometheus.scrape_configs.map((j) => [j.job_name, j]));
      expect(jobs["saga-api"]?.static_configs?.[0]?.targets).toEqual(["api:8008"]);
      expect(jobs["saga-worker"]?.dns_sd_configs?.[0]).toMatchObject({
        names: ["worker"],
        port: 8009,
      });

      // Every metric the service declares (src/telemetry): the saga metrics and the store, bus and
      // HTTP ones registered beside them. (test/e2e/prometheus-dashboard.test.ts also runs every
      // panel's query against a real scrape.)
      const metrics = new SagaMetrics(() => Promise.resolve([]));
      const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
      for (const file of readdirSync(new URL("../../src/telemetry/", import.meta.url))) {
        const text = readFileSync(new URL(`../../src/telemetry/${file}`, import.meta.url), "utf8");
        for (const m of text.matchAll(/\bname: "((?:saga|http)_[a-z_]+)"/g)) exported.add(m[1]!);
      }
      const used = (text: string) =>
        [...text.matchAll(/\b(saga_[a-z_]+)/g)]
          .map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ""))
          .filter((name) => name !== "saga_type"); // a label, not a metric
      const dashboard = JSON.parse(read("deploy/grafana/dashboards/saga-dashboard.json")) as {
        panels: { targets?: { expr: string }[] }[];
      };
      const exprs = dashboard.panels
        .flatMap((p) => (p.targets ?? []).map((t) => t.expr))
        .join("\n");
      const alertRules = parse(read("deploy/prometheus/alerts.yml")) as {
        groups: { rules: { expr: string }[] }[];
      };
      const alerts = alertRules.groups.flatMap((g) => g.rules.map((r) => r.expr)).join("\n");
      expect(used(exprs).length).toBeGreaterThan(5);
      for (const name of [...used(exprs), ...used(alerts)])
        expect([...exported], `${name} is not a metric the service exports`).toContain(name);
    });
  }
});

function Dockerfile(): string {
  return read("Dockerfile");
}
