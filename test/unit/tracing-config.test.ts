import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { isTraceparent, sagaSpanId, sagaTraceId } from "../../src/engine/trace-ids.js";

describe("tracing settings", () => {
  it("are off by default and come on with an OTLP endpoint (standard OTEL_* names)", () => {
    expect(loadConfig({}).tracing.enabled).toBe(false);
    const base = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).tracing;
    expect(base).toEqual({
      enabled: true,
      tracesUrl: "http://collector:4318/v1/traces",
      serviceName: "saga-orchestrator",
    });
    const traces = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://ignored:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://c.example/custom/traces",
      OTEL_SERVICE_NAME: "orders",
    }).tracing;
    expect(traces).toEqual({
      enabled: true,
      tracesUrl: "https://c.example/custom/traces",
      serviceName: "orders",
    });
    expect(loadConfig({ SAGA_TRACING: "on" }).tracing).toMatchObject({
      enabled: true,
      tracesUrl: "http://localhost:4318/v1/traces",
    });
  });

  it("SAGA_TRACING=off, OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none turn it off", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };
    expect(loadConfig({ ...endpoint, SAGA_TRACING: "off" }).tracing.enabled).toBe(false);
    expect(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: "true" }).tracing.enabled).toBe(false);
    expect(loadConfig({ ...endpoint, OTEL_TRACES_EXPORTER: "none" }).tracing.enabled).toBe(false);
  });

  it("a bad value fails start-up with one line naming the variable", () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ SAGA_TRACING: "maybe" }, /^SAGA_TRACING must be one of auto, on, off/],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" }, /^OTEL_EXPORTER_OTLP_ENDPOINT must be a URL/],
      [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "ftp://c/x" }, /must be an http or https URL/],
      [{ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, /^OTEL_EXPORTER_OTLP_PROTOCOL must be http\/json/],
      [{ OTEL_TRACES_EXPORTER: "jaeger" }, /^OTEL_TRACES_EXPORTER must be otlp or none/],
      [{ OTEL_SDK_DISABLED: "nope" }, /^OTEL_SDK_DISABLED must be true or false/],
    ];
    for (const [env, message] of cases) {
      let error: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).code).toBe("SAGA_INVALID_CONFIG");
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain("\n");
    }
  });
});

describe("trace ids of a saga", () => {
  it("the trace id is the saga's UUID; ids are stable and never all zeros", () => {
    const id = "0190f3c2-7a4b-7c3d-8e5f-123456789abc";
    expect(sagaTraceId(id)).toBe("0190f3c27a4b7c3d8e5f123456789abc");
    expect(sagaTraceId("not-a-uuid")).toMatch(/^[0-9a-f]{32}$/);
    expect(sagaSpanId(id)).toBe(sagaSpanId(id));
    expect(sagaSpanId(id)).toMatch(/^[0-9a-f]{16}$/);
    expect(sagaTraceId("00000000-0000-0000-0000-000000000000")).not.toMatch(/^0+$/);
  });

  it("only a well-formed traceparent is kept", () => {
    expect(isTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).toBe(true);
    for (const bad of [
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "garbage",
      42,
    ])
      expect(isTraceparent(bad)).toBe(false);
  });
});
