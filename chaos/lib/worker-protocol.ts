/** What the harness tells a chaos worker (JSON in CHAOS_WORKER) and what it prints (JSON lines). */
export interface WorkerConfig {
  role: "worker" | "relay";
  workerId: string;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  simulatorUrl: string;
  leaseMs: number;
  heartbeatMs: number;
  pollIntervalMs: number;
  /** Start keys are `<keyPrefix>:<n>`; null: start nothing. */
  keyPrefix: string | null;
  /** Pause between two starts (ms). */
  startEveryMs: number;
  /** Starts in flight at once. */
  startConcurrency: number;
  failRate: number;
  /** This process's clock is off by this much (ms), through the Clock port. */
  skewMs: number;
  workMs: [number, number];
  crashLoopLimit: number;
}

export type WorkerMessage =
  | { t: "ready" }
  | { t: "starting"; key: string }
  | { t: "ack"; key: string; sagaId: string }
  | { t: "start-error"; key: string; error: string }
  | { t: "step"; sagaId: string; step: string; phase: "do" | "undo"; attempt: number }
  | { t: "cancel-ack"; sagaId: string }
  | { t: "cancel-error"; sagaId: string; error: string }
  | { t: "error"; error: string };

export const WORKER_ENV = "CHAOS_WORKER";
