import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { Orchestrator } from "../../engine/orchestrator.js";

export interface HealthInfo {
  storeKind: "postgres" | "pglite";
  version: string;
  /** Extra components (e.g. the event bus) added by later transports. */
  components?: () => Promise<Record<string, { status: "up" | "down"; [key: string]: unknown }>>;
}

const STORE_TIMEOUT_MS = 2_000;

type Components = Record<string, { status: "up" | "down"; [key: string]: unknown }>;

/**
 * Health answers are public: error texts of components (`error`, `*_error`) are replaced by a
 * fixed phrase and logged instead, since they may name hosts, users, paths or secrets.
 */
function redactErrors(app: FastifyInstance, components: Components): Components {
  const out: Components = {};
  for (const [name, component] of Object.entries(components)) {
    const copy = { ...component };
    for (const [field, value] of Object.entries(copy)) {
      if (
        (field === "error" || field.endsWith("_error")) &&
        value !== null &&
        value !== undefined
      ) {
        app.log.warn({ component: name, [field]: value }, "health: a component reports an error");
        copy[field] = "failing (details in the server log)";
      }
    }
    out[name] = copy;
  }
  return out;
}

/** Liveness, readiness (fails while the store is down) and a component report. Public: no auth. */
export function healthRoutes(
  app: FastifyInstance,
  orchestrator: Orchestrator,
  info: HealthInfo,
): void {
  const startedAt = Date.now();
  const probeStore = async () => {
    const began = performance.now();
    try {
      await Promise.race([
        orchestrator.ping(),
        new Promise((_, reject) =>
          setTimeout(
            () => reject(new Error(`no answer in ${STORE_TIMEOUT_MS} ms`)),
            STORE_TIMEOUT_MS,
          ).unref(),
        ),
      ]);
      return {
        status: "up" as const,
        kind: info.storeKind,
        latency_ms: Math.round((performance.now() - began) * 10) / 10,
      };
    } catch (error) {
      // The message may name hosts, users or paths: it goes to the log, not to the caller.
      app.log.warn({ err: error }, "health: the store does not answer");
      return { status: "down" as const, kind: info.storeKind, error: "not answering" };
    }
  };

  app.get(
    "/health/live",
    {
      config: { public: true },
      schema: {
        tags: ["health"],
        summary: "Liveness: the process answers",
        response: { 200: Type.Object({ status: Type.Literal("alive") }) },
      },
    },
    () => ({ status: "alive" as const }),
  );

  app.get(
    "/health/ready",
    {
      config: { public: true },
      schema: {
        tags: ["health"],
        summary: "Readiness: the store answers (503 while it does not)",
        response: {
          200: Type.Object({ status: Type.String() }),
          503: Type.Object({ status: Type.String(), reason: Type.String() }),
        },
      },
    },
    async (_request, reply) => {
      const store = await probeStore();
      if (store.status === "down")
        return reply.status(503).send({ status: "not_ready", reason: "store: not answering" });
      if (orchestrator.isClosing)
        return reply.status(503).send({ status: "not_ready", reason: "shutting down" });
      return { status: "ready" };
    },
  );

  app.get(
    "/health",
    {
      config: { public: true },
      schema: {
        tags: ["health"],
        summary: "Status of each component: store, workers, bus",
        response: {
          200: Type.Object({
            status: Type.String(),
            version: Type.String(),
            uptime_seconds: Type.Number(),
            components: Type.Record(Type.String(), Type.Unknown()),
          }),
          503: Type.Object({
            status: Type.String(),
            version: Type.String(),
            uptime_seconds: Type.Number(),
            components: Type.Record(Type.String(), Type.Unknown()),
          }),
        },
      },
    },
    async (_request, reply) => {
      const store = await probeStore();
      const extra = info.components
        ? redactErrors(app, await info.components())
        : { bus: { status: "up" as const, kind: "not_configured" } };
      const workers = {
        status: orchestrator.isClosing ? ("down" as const) : ("up" as const),
        worker_id: orchestrator.workerId,
        sagas_in_process: orchestrator.runningHere,
      };
      const components = { store, workers, ...extra };
      const down = Object.values(components).filter((c) => c.status === "down");
      const status =
        store.status === "down" ? "unhealthy" : down.length > 0 ? "degraded" : "healthy";
      return reply.status(status === "unhealthy" ? 503 : 200).send({
        status,
        version: info.version,
        uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
        components,
      });
    },
  );
}
