import { Gauge, type Registry } from "prom-client";

/** Scrape-time gauges: values read from the store or the bus when Prometheus scrapes. */

/** Drops a cached scrape-time read shortly after (the gauges of one scrape share it). */
function forget(clear: () => void): void {
  setTimeout(clear, 500).unref();
}

/** A reader shared by the gauges of one scrape: the first collect() reads, the others reuse it. */
export function oncePerScrape<T>(reader: () => Promise<T>): () => Promise<T> {
  let last: Promise<T> | null = null;
  return () => (last ??= reader().finally(() => forget(() => (last = null))));
}

/**
 * A gauge read at scrape time: its values are replaced by what `values` makes of the reading; a
 * failed reading leaves the gauge as it was (the scrape still answers).
 */
export function scrapeGauge<T>(
  registry: Registry,
  read: () => Promise<T>,
  spec: {
    name: string;
    help: string;
    labelNames?: string[];
    values: (reading: T) => [Record<string, string>, number][];
  },
): void {
  new Gauge({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    async collect() {
      const reading = await read().catch(() => null);
      if (reading === null) return;
      this.reset();
      for (const [labels, value] of spec.values(reading)) this.set(labels, value);
    },
  });
}
