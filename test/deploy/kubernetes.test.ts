/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument -- rendered manifests are untyped YAML, checked field by field */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

/**
 * Renders the Kustomize base and every overlay with `kubectl kustomize` (no cluster needed) and
 * checks the objects: kinds, probes on the right endpoints, no root, read-only root filesystem,
 * resources, labels that match selectors, references that resolve. KUBECTL overrides the binary.
 */
const KUBECTL = process.env.KUBECTL ?? "kubectl";
const ROOT = fileURLToPath(new URL("../../deploy/kubernetes/", import.meta.url));
const TARGETS = ["base", "overlays/dev", "overlays/prod"] as const;

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
};

function render(target: string): Obj[] {
  let out: string;
  try {
    out = execFileSync(KUBECTL, ["kustomize", `${ROOT}${target}`], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") {
      throw new Error(
        `${KUBECTL} is not installed: these tests need it to render deploy/kubernetes (Debian: apt-get install kubernetes-client; .ci/run installs it)`,
        { cause: error },
      );
    }
    throw new Error(`kubectl kustomize ${target} failed: ${e.stderr ?? e.message}`, {
      cause: error,
    });
  }
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

const workloads = (objects: Obj[]) =>
  objects.filter((o) => o.kind === "Deployment" || o.kind === "Job");

describe.each(TARGETS)("kubectl kustomize %s", (target) => {
  let objects: Obj[];
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const one = (kind: string, name: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name.startsWith(name));
    if (!found) throw new Error(`${target}: no ${kind} ${name}`);
    return found;
  };

  beforeAll(() => {
    objects = render(target);
  });

  it("has every kind the service needs", () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, "")}`);
    for (const expected of [
      "ServiceAccount/saga-orchestrator",
      "ConfigMap/saga-config",
      "Deployment/saga-api",
      "Deployment/saga-worker",
      "Service/saga-api",
      "Service/saga-worker",
      "Job/saga-migrate",
      "PodDisruptionBudget/saga-api",
      "PodDisruptionBudget/saga-worker",
      "HorizontalPodAutoscaler/saga-api",
      "HorizontalPodAutoscaler/saga-worker",
      "NetworkPolicy/saga-orchestrator",
    ]) {
      expect(kinds).toContain(expected);
    }
    if (target !== "base") {
      const namespace = byKind("Namespace")[0]?.metadata.name;
      expect(namespace).toBeDefined();
      for (const o of objects.filter((x) => x.kind !== "Namespace"))
        expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(namespace);
    }
  });

  it("runs every pod as non-root with a read-only root filesystem and bounded resources", () => {
    for (const w of workloads(objects)) {
      const pod = w.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot, w.metadata.name).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.securityContext.seccompProfile.type).toBe("RuntimeDefault");
      expect(pod.serviceAccountName).toBe("saga-orchestrator");
      for (const c of pod.containers) {
        const where = `${w.metadata.name}/${c.name}`;
        expect(c.securityContext.readOnlyRootFilesystem, where).toBe(true);
        expect(c.securityContext.allowPrivilegeEscalation, where).toBe(false);
        expect(c.securityContext.capabilities.drop, where).toEqual(["ALL"]);
        expect(c.resources.requests.cpu, where).toBeDefined();
        expect(c.resources.requests.memory, where).toBeDefined();
        expect(c.resources.limits.memory, where).toBeDefined();
        // Writable places are volumes, not the image.
        expect(c.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toContain("/tmp");
      }
    }
    expect(one("ServiceAccount", "saga-orchestrator")).toMatchObject({
      automountServiceAccountToken: false,
    });
  });

  it("probes the API and the workers on their own endpoints and ports", () => {
    for (const [name, command, port] of [
      ["saga-api", "serve", 8008],
      ["saga-worker", "worker", 8009],
    ] as const) {
      const container = one("Deployment", name).spec.template.spec.containers[0];
      expect(container.args).toEqual([command]);
      const portName = container.ports.find(
        (p: { containerPort: number }) => p.containerPort === port,
      )?.name;
      expect(portName, `${name} exposes ${port}`).toBeDefined();
      expect(container.livenessProbe.httpGet).toEqual({ path: "/health/live", port: portName });
      expect(container.readinessProbe.httpGet).toEqual({ path: "/health/ready", port: portName });
      expect(container.startupProbe.httpGet).toEqual({ path: "/health/live", port: portName });
      const pod = one("Deployment", name).spec.template;
      expect(pod.metadata.annotations["prometheus.io/port"]).toBe(String(port));
    }
    expect(one("Job", "saga-migrate").spec.template.spec.containers[0].args).toEqual(["migrate"]);
  });

  it("has selectors that match the pods they mean, and references that resolve", () => {
    const deployments = byKind("Deployment");
    for (const d of deployments) {
      expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
    }
    const podsOf = (selector: Record<string, string>) =>
      deployments.filter((d) => matches(selector, d.spec.template.metadata.labels));
    for (const s of byKind("Service")) {
      const targets = podsOf(s.spec.selector);
      expect(targets, `Service ${s.metadata.name}`).toHaveLength(1);
      const ports = targets[0]!.spec.template.spec.containers[0].ports.map(
        (p: { name: string }) => p.name,
      );
      for (const p of s.spec.ports) expect(ports).toContain(p.targetPort);
    }
    for (const pdb of byKind("PodDisruptionBudget"))
      expect(podsOf(pdb.spec.selector.matchLabels), pdb.metadata.name).toHaveLength(1);
    for (const hpa of byKind("HorizontalPodAutoscaler")) {
      expect(deployments.map((d) => d.metadata.name)).toContain(hpa.spec.scaleTargetRef.name);
      expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
    }
    for (const np of byKind("NetworkPolicy"))
      expect(podsOf(np.spec.podSelector.matchLabels).length).toBeGreaterThan(0);

    const configMaps = byKind("ConfigMap").map((c) => c.metadata.name);
    const secrets = byKind("Secret").map((s) => s.metadata.name);
    for (const w of workloads(objects)) {
      const pod = w.spec.template.spec;
      for (const c of pod.containers)
        for (const from of c.envFrom ?? [])
          if (from.configMapRef) expect(configMaps).toContain(from.configMapRef.name);
      const secretVolumes = pod.volumes.filter((v: { secret?: unknown }) => v.secret);
      expect(secretVolumes.length).toBeGreaterThan(0);
      for (const v of secretVolumes) {
        if (target === "overlays/dev") expect(secrets).toContain(v.secret.secretName);
        else expect(v.secret.secretName).toBe("saga-secrets"); // made outside the repository
      }
    }
    if (target === "overlays/prod") expect(secrets).toEqual([]); // no secret in the repository
  });

  it("gives SIGTERM time to drain and reads secrets from files", () => {
    const config = one("ConfigMap", "saga-config").data!;
    const grace = Number(config.SAGA_SHUTDOWN_GRACE_SECONDS);
    expect(grace).toBeGreaterThan(0);
    for (const d of byKind("Deployment"))
      expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(grace);
    expect(config.HOST).toBe("0.0.0.0");
    for (const name of ["DATABASE_URL", "REDIS_URL", "API_KEY"]) {
      expect(config[name], `${name} must not be in the ConfigMap`).toBeUndefined();
      expect(config[`${name}_FILE`]).toBe(`/run/secrets/saga/${name}`);
    }
  });
});
