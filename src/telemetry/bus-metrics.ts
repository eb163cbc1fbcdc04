import { Counter, Histogram, type Registry } from "prom-client";
import { oncePerScrape, scrapeGauge } from "./scrape-gauge.js";
import type { BatchHandler, EventBus, MessageHandler } from "../engine/bus-port.js";
import type { OutboxRow } from "../engine/store-port.js";

/** What the bus reports at scrape time (RedisStreamsBus.stats / InProcessBus.stats). */
export type BusStatsReader = () => Promise<{
  deadLetters: number;
  groups: { group: string; pending: number; lag: number | null }[];
}>;

/** The outbox seen from the store at scrape time. */
export type OutboxStatsReader = () => Promise<{ pending: number; oldestAgeSeconds: number }>;

/**
 * Bus, relay and intake metrics. Gauges read at scrape time (dead letters, pending, lag, outbox)
 * are fleet-wide like `saga_running_current`: aggregate them with `max` across instances; the
 * counters and histograms are this process's own: aggregate them with `sum`.
 */
export class BusMetrics {
  readonly published: Counter;
  readonly delivered: Counter<"group">;
  readonly deliveryLag: Histogram<"group">;
  readonly relayBatchSize: Histogram;
  readonly relayBatchSeconds: Histogram;

  constructor(
    registry: Registry,
    readers: { bus?: BusStatsReader; outbox?: OutboxStatsReader } = {},
  ) {
    this.published = new Counter({
      name: "saga_bus_published_total",
      help: "Messages this process published to the bus (relay and Events API).",
      registers: [registry],
    });
    this.delivered = new Counter({
      name: "saga_bus_delivered_total",
      help: "Messages handled by this process's subscribers, by consumer group.",
      labelNames: ["group"],
      registers: [registry],
    });
    this.deliveryLag = new Histogram({
      name: "saga_bus_delivery_lag_seconds",
      help: "Time from a message's occurredAt to its handling, by consumer group.",
      labelNames: ["group"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.relayBatchSize = new Histogram({
      name: "saga_relay_batch_size",
      help: "Outbox rows per relay batch (one transaction, one publish).",
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [registry],
    });
    this.relayBatchSeconds = new Histogram({
      name: "saga_relay_batch_seconds",
      help: "Time to publish one relay batch to the bus.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    const bus = readers.bus;
    if (bus) {
      const read = oncePerScrape(bus);
      scrapeGauge(registry, read, {
        name: "saga_bus_dead_letters",
        help: "Messages on the dead-letter stream now (fleet-wide: aggregate with max).",
        values: (stats) => [[{}, stats.deadLetters]],
      });
      scrapeGauge(registry, read, {
        name: "saga_bus_pending",
        help: "Messages delivered to a consumer group and not yet acknowledged (fleet-wide).",
        labelNames: ["group"],
        values: (stats) => stats.groups.map((g) => [{ group: g.group }, g.pending]),
      });
      scrapeGauge(registry, read, {
        name: "saga_bus_lag",
        help: "Messages on the stream not yet delivered to a consumer group (fleet-wide).",
        labelNames: ["group"],
        values: (stats) =>
          stats.groups.flatMap((g) => (g.lag === null ? [] : [[{ group: g.group }, g.lag]])),
      });
    }
    const outbox = readers.outbox;
    if (outbox) {
      const read = oncePerScrape(outbox);
      scrapeGauge(registry, read, {
        name: "saga_outbox_pending",
        help: "Outbox rows not yet relayed to the bus (fleet-wide: aggregate with max).",
        values: (stats) => [[{}, stats.pending]],
      });
      scrapeGauge(registry, read, {
        name: "saga_outbox_oldest_age_seconds",
        help: "Age of the oldest outbox row (relay lag; 0 when the outbox is empty).",
        values: (stats) => [[{}, stats.oldestAgeSeconds]],
      });
    }
  }

  /** The bus, with publishes and deliveries counted and delivery lag observed. */
  instrumentBus(bus: EventBus, now: () => number = Date.now): EventBus {
    const delivered = (group: string, occurredAt: number) => {
      this.delivered.inc({ group });
      this.deliveryLag.observe({ group }, Math.max(0, (now() - occurredAt) / 1000));
    };
    const published = this.published;
    const wrapper: EventBus = {
      async publish(messages) {
        await bus.publish(messages);
        published.inc(messages.length);
      },
      subscribe(options, handler: MessageHandler) {
        return bus.subscribe(options, async (message) => {
          await handler(message);
          delivered(options.group, message.occurredAt);
        });
      },
      subscribeBatch(options, handler: BatchHandler) {
        return bus.subscribeBatch(options, async (messages) => {
          await handler(messages);
          for (const m of messages) delivered(options.group, m.occurredAt);
        });
      },
      ping: () => bus.ping(),
      close: () => bus.close(),
    };
    return wrapper;
  }

  /** A `relayOutbox` that observes batch sizes and publish times. */
  instrumentRelay<
    S extends {
      relayOutbox(limit: number, send: (rows: OutboxRow[]) => Promise<void>): Promise<number>;
    },
  >(store: S): Pick<S, "relayOutbox"> {
    return {
      relayOutbox: (limit, send) =>
        store.relayOutbox(limit, async (rows) => {
          const began = performance.now();
          await send(rows);
          this.relayBatchSeconds.observe((performance.now() - began) / 1000);
          this.relayBatchSize.observe(rows.length);
        }),
    };
  }
}
