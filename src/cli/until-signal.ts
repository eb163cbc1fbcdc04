import { errorMessage } from "../core/errors.js";

/**
 * Runs until SIGTERM or SIGINT, then shuts down gracefully (a second signal exits at once). With
 * `followParent`, a process started with an IPC channel (a `saga serve --workers` child) also
 * shuts down gracefully when that channel closes: its supervisor died, and a worker must not
 * outlive it for long.
 */
export function untilSignal(
  shutdown: () => Promise<void>,
  options: { followParent?: boolean } = {},
): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`received ${signal}: finishing running steps, then exiting\n`);
      shutdown().then(
        () => resolve(0),
        (error: unknown) => {
          process.stderr.write(`shutdown failed: ${errorMessage(error)}\n`);
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    if (options.followParent && process.channel) {
      process.once("disconnect", () => {
        if (!stopping) stop("the end of the supervisor's channel");
      });
    }
    // Last line of defence only (bounds and catches at the sources are the fix): a stray rejection
    // is logged as a bug instead of ending every tenant's work. Uncaught exceptions still exit.
    process.on("unhandledRejection", (reason) => {
      const error = reason instanceof Error ? reason : new Error(String(reason));
      process.stderr.write(
        `${JSON.stringify({ level: 50, time: Date.now(), msg: "unhandled rejection (a bug: please report it); the process keeps serving", err: { message: error.message, stack: error.stack } })}\n`,
      );
    });
  });
}
