/** What the driver asks a child process to do (passed as JSON in argv[2]). */
export type ChildTask =
  | { kind: "point"; point: PointSpec }
  | { kind: "timers-hold"; databaseUrl: string; sagas: number; delayMs: number }
  | { kind: "timers-resume"; databaseUrl: string; sagas: number }
  | {
      kind: "http-service";
      databaseUrl: string | null;
      dataDir: string | null;
      /** More settings for loadConfig (e.g. API_KEYS). */
      env?: Record<string, string>;
      /** Profile the service's CPU from "mark" to the first "report" into this .cpuprofile. */
      cpuProfileTo?: string;
    };

export type EngineName = "ours-pg" | "ours-pglite" | "dbos" | "restate" | "raw-naive" | "raw-group";

export type Workload = "saga3" | "saga3-compensate";

export interface PointSpec {
  engine: EngineName;
  workload: Workload;
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  /** PostgreSQL database of this point (created empty by the driver); unused by PGlite/Restate. */
  databaseUrl: string;
  /** Write a V8 CPU profile of the measured window to this file. */
  cpuProfileTo?: string;
  /** Capture the largest group-commit statement's parameters to this file (profiling run). */
  captureCommitTo?: string;
  /**
   * Several processes share one point (the scale scenario): once the engine is up, say "ready"
   * and start the closed loop only at the driver's "go", and return the window's latencies.
   */
  shared?: boolean;
}

/** Percentiles of a sample, in milliseconds. */
export interface Dist {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** One statement text's client-side statistics (pg driver, every call). */
export interface StatementStat {
  text: string;
  calls: number;
  totalMs: number;
  rows: number;
}

/** What a child measured for one (engine, workload, concurrency) point. */
export interface PointResult {
  spec: PointSpec;
  /** Seconds of the measured window (after warm-up). */
  windowSec: number;
  /** Sagas that ended inside the measured window. */
  completedInWindow: number;
  /** Sagas that ended in the whole run: warm-up, window and drain. */
  completedTotal: number;
  startedTotal: number;
  failed: number;
  firstError: string | null;
  /** Sagas still unfinished 60 s after the load stopped (lost or stuck). */
  stuck: number;
  sagasPerSec: number;
  latency: Dist;
  /** Gaps between one step's end and the next step's start, as seen by the step functions. */
  dispatch: Dist;
  /** Step invocations of a (saga, step) pair already seen: duplicates. */
  duplicateSteps: number;
  stepInvocations: number;
  nodeCpuSec: number;
  nodeCpuSecPer1000: number;
  peakRssMb: number;
  /** Longest lateness of a 100 ms timer in the engine's process (event-loop starvation). */
  maxTimerLagMs: number;
  /** CPU of the store's server processes during the window, in cores (cpu-seconds / second). */
  storeCpuCores: number | null;
  storeLabel: string;
  /** Busy CPU of the whole machine during the window, in cores. */
  machineBusyCores: number;
  /** Machine CPU not spent by this engine's process or its store: other load (contamination). */
  otherCores: number;
  /** pg driver queries issued by this process in the measured window (null: not counted). */
  roundTrips: number | null;
  statements: StatementStat[] | null;
  /** The store's own view after the drain, e.g. { completed: 1234 }. */
  storeCounts: Record<string, number> | null;
  /** Every latency of the window in ms (only with `spec.shared`: the driver merges processes). */
  latencies?: number[];
  notes: string[];
}

export type ChildMessage =
  | { type: "result"; result: PointResult }
  /** The measured window starts or ends now: the driver reads the server's counters. */
  | { type: "edge"; edge: "start" | "end" }
  | { type: "ready"; port?: number; info?: Record<string, number> }
  | { type: "done"; info: Record<string, number> }
  | { type: "error"; message: string };
