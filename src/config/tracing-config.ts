import { ConfigError, urlSetting } from "./api-config.js";

const HTTP = ["http:", "https:"];

/** OpenTelemetry tracing of the service (docs/observe.md, "Tracing"). */
export interface TracingConfig {
  /** Off unless an OTLP endpoint is set or SAGA_TRACING=on (and not OTEL_SDK_DISABLED). */
  enabled: boolean;
  /** Where spans go: the OTLP/HTTP traces URL (`…/v1/traces`). */
  tracesUrl: string;
  /** `service.name` of the spans (OTEL_SERVICE_NAME). */
  serviceName: string;
}

/** The variables `loadTracingConfig` reads (the SDK reads other `OTEL_*` ones itself). */
export const TRACING_SETTINGS = [
  "SAGA_TRACING",
  "OTEL_SDK_DISABLED",
  "OTEL_TRACES_EXPORTER",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_PROTOCOL",
  "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
  "OTEL_SERVICE_NAME",
] as const;

/** The OTLP/HTTP default of the specification (a collector on this host). */
export const DEFAULT_OTLP_TRACES_URL = "http://localhost:4318/v1/traces";

/**
 * Tracing settings, with the standard OpenTelemetry names: on when
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (+
 * `/v1/traces`) is set, or `SAGA_TRACING=on` (default endpoint `localhost:4318`); `SAGA_TRACING=off`,
 * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn it off. Spans go out as OTLP/HTTP
 * JSON, so a protocol other than `http/json` is refused rather than silently not honoured.
 */
export function loadTracingConfig(str: (name: string) => string | null): TracingConfig {
  const mode = (str("SAGA_TRACING") ?? "auto").toLowerCase();
  if (!["auto", "on", "off"].includes(mode))
    throw new ConfigError(
      `SAGA_TRACING must be one of auto, on, off (got ${JSON.stringify(mode)})`,
    );
  const disabledRaw = (str("OTEL_SDK_DISABLED") ?? "false").toLowerCase();
  if (!["true", "false"].includes(disabledRaw))
    throw new ConfigError(
      `OTEL_SDK_DISABLED must be true or false (got ${JSON.stringify(disabledRaw)})`,
    );
  const exporter = (str("OTEL_TRACES_EXPORTER") ?? "otlp").toLowerCase();
  if (exporter !== "otlp" && exporter !== "none")
    throw new ConfigError(
      `OTEL_TRACES_EXPORTER must be otlp or none (got ${JSON.stringify(exporter)}; spans are sent as OTLP/HTTP)`,
    );
  for (const name of ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]) {
    const protocol = str(name);
    if (protocol !== null && protocol !== "http/json")
      throw new ConfigError(
        `${name} must be http/json (got ${JSON.stringify(protocol)}; spans are sent as OTLP/HTTP JSON)`,
      );
  }
  const tracesEndpoint = urlSetting(str, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", HTTP);
  const endpoint = urlSetting(str, "OTEL_EXPORTER_OTLP_ENDPOINT", HTTP);
  const tracesUrl =
    tracesEndpoint ??
    (endpoint ? `${endpoint.replace(/\/+$/, "")}/v1/traces` : DEFAULT_OTLP_TRACES_URL);
  const serviceName = str("OTEL_SERVICE_NAME") ?? "saga-orchestrator";
  if (serviceName.length > 255)
    throw new ConfigError("OTEL_SERVICE_NAME must be at most 255 characters");
  const wanted = mode === "on" || (mode === "auto" && (tracesEndpoint ?? endpoint) !== null);
  return {
    enabled: wanted && disabledRaw === "false" && exporter === "otlp",
    tracesUrl,
    serviceName,
  };
}
