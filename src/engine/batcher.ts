/**
 * Group commit: callers submit one item each and get its own result; items submitted while a
 * flush is running go together in the next one. Idle: an item is flushed at once (no timer, no
 * added latency). Busy: batches grow with the load, up to `maxBatch`.
 *
 * When a batch fails for a reason tied to one item's data (`isItemFault`, e.g. a value the
 * database refuses), each item is flushed alone: the faulty item's caller gets the error and the
 * others their results, so one tenant's bad row never fails other sagas' writes.
 */
export class Batcher<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private flushing = 0;
  private scheduled = false;

  constructor(
    private readonly flush: (items: I[]) => Promise<O[]>,
    private readonly options: {
      maxBatch: number;
      maxConcurrent: number;
      isItemFault?: (error: unknown) => boolean;
    },
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
      void this.flushBatch(batch).finally(() => {
        this.flushing--;
        this.pump();
      });
    }
  }

  private async flushBatch(batch: typeof this.queue): Promise<void> {
    try {
      const results = await this.flush(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(results[i] as O));
    } catch (error) {
      if (batch.length > 1 && this.options.isItemFault?.(error) === true) {
        await Promise.all(batch.map((b) => this.flushBatch([b])));
        return;
      }
      for (const b of batch) b.reject(error);
    }
  }
}
