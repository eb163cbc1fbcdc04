import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { requireBinary } from "../helpers/prometheus.js";

const run = promisify(execFile);
const dir = fileURLToPath(new URL("../../deploy/prometheus/", import.meta.url));

interface RuleTest {
  name: string;
  alert_rule_test: { alertname: string; exp_alerts: unknown[] }[];
}

describe("Prometheus alert rules (deploy/prometheus/alerts.yml)", () => {
  it("pass promtool check rules", async () => {
    const promtool = requireBinary("promtool");
    const { stdout } = await run(promtool, ["check", "rules", "alerts.yml"], { cwd: dir });
    expect(stdout).toContain("SUCCESS");
  });

  it("pass promtool test rules: every alert fires on an unhealthy series and stays quiet on a healthy one", async () => {
    const promtool = requireBinary("promtool");
    const alerts = (
      parse(readFileSync(`${dir}alerts.yml`, "utf8")) as {
        groups: { rules: { alert: string }[] }[];
      }
    ).groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const seeded of ["HighSagaFailureRate", "SagaStuckInRunning", "HighCompensationRate"])
      expect(alerts).toContain(seeded);
    const tests = (parse(readFileSync(`${dir}alerts.test.yml`, "utf8")) as { tests: RuleTest[] })
      .tests;
    const checks = tests.flatMap((t) => t.alert_rule_test);
    for (const alert of alerts) {
      const mine = checks.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert} has no test where it fires`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert} has no test where it stays quiet`,
      ).toBe(true);
    }
    const result = await run(promtool, ["test", "rules", "alerts.test.yml"], { cwd: dir }).catch(
      (error: { stdout?: string; stderr?: string }) => error,
    );
    expect(`${result.stdout ?? ""}${result.stderr ?? ""}`).toContain("SUCCESS");
    expect(`${result.stdout ?? ""}${result.stderr ?? ""}`).not.toContain("FAILED");
  });
});
