/** The logging port (pino's shape). Fields first, then the message. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  /** Optional (pino has it): false lets the engine skip building a line nobody will see. */
  isLevelEnabled?(level: "debug" | "info" | "warn" | "error"): boolean;
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  isLevelEnabled: () => false,
};
