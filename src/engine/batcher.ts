/**
 * Group commit: callers submit one item each and get its own result; items submitted while a
 * flush is running go together in the next one. Idle: an item is flushed at once (no timer, no
 * added latency). Busy: batches grow with the load, up to `maxBatch`.
 */
export class Batcher<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private flushing = 0;
  private scheduled = false;

  constructor(
    private readonly flush: (items: I[]) => Promise<O[]>,
    private readonly options: { maxBatch: number; maxConcurrent: number },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        // Gather everything submitted in this tick before the first flush.
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.flushing < this.options.maxConcurrent && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.flushing++;
      this.flush(batch.map((b) => b.item))
        .then((results) => {
          batch.forEach((b, i) => b.resolve(results[i] as O));
        })
        .catch((error: unknown) => {
          for (const b of batch) b.reject(error);
        })
        .finally(() => {
          this.flushing--;
          this.pump();
        });
    }
  }
}
