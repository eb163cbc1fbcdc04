import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";

/**
 * The V8 CPU profiler (what `node --cpu-prof` runs) over the measured window only: started at
 * the window's start and stopped at its end, so that module loading, warm-up and shutdown stay
 * out of the profile. Writes a .cpuprofile that Chrome DevTools opens.
 */
export class WindowProfiler {
  private readonly session = new Session();
  private stopped: Promise<void> | null = null;

  constructor(private readonly file: string) {
    this.session.connect();
  }

  start(): void {
    this.session.post("Profiler.enable", () => {
      this.session.post("Profiler.setSamplingInterval", { interval: 500 }, () => {
        this.session.post("Profiler.start");
      });
    });
  }

  stop(): void {
    this.stopped ??= new Promise((resolve) => {
      this.session.post("Profiler.stop", (error, result) => {
        if (!error) writeFileSync(this.file, JSON.stringify(result.profile));
        this.session.disconnect();
        resolve();
      });
    });
  }

  /** Resolves once the profile is written. */
  async written(): Promise<void> {
    await this.stopped;
  }
}
