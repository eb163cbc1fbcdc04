import { Samples } from "./stats.js";

/**
 * What the step functions see. Each step calls `enter` first and `exit` just before it returns;
 * the dispatch overhead of a step is the time from the previous step's `exit` to its `enter`
 * (checkpoint of the previous outcome + scheduling + everything the engine does in between).
 */
export class StepProbe {
  readonly gaps = new Samples();
  invocations = 0;
  duplicates = 0;
  /** The first few duplicates: which saga, which step, how long after its first run. */
  readonly duplicateSamples: string[] = [];
  private readonly sagas = new Map<number, { lastExit: number; seen: Map<string, number> }>();

  enter(key: number, step: string): void {
    const now = performance.now();
    this.invocations++;
    let saga = this.sagas.get(key);
    if (!saga) {
      saga = { lastExit: NaN, seen: new Map() };
      this.sagas.set(key, saga);
    }
    const first = saga.seen.get(step);
    if (first !== undefined) {
      this.duplicates++;
      if (this.duplicateSamples.length < 5)
        this.duplicateSamples.push(
          `saga #${key} step ${step} again ${(now - first).toFixed(1)} ms after its first run`,
        );
    } else saga.seen.set(step, now);
    if (!Number.isNaN(saga.lastExit)) this.gaps.push(now, now - saga.lastExit);
  }

  exit(key: number): void {
    const saga = this.sagas.get(key);
    if (saga) saga.lastExit = performance.now();
  }

  /** The saga ended: forget it (keeps memory flat over long runs). */
  done(key: number): void {
    this.sagas.delete(key);
  }
}
