import { pino, type Logger as PinoLogger } from "pino";

/** Structured JSON logs on stdout; `LOG_LEVEL` sets the level. */
export function createLogger(level: string): PinoLogger {
  return pino({
    level,
    base: { service: "saga-orchestrator" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ["req.headers.authorization", 'req.headers["x-api-key"]'],
      censor: "[redacted]",
    },
  });
}
