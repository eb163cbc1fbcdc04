import { InProcessBus } from "./bus/in-process-bus.js";
import { InProcessDeadLetters } from "./bus/in-process-dead-letters.js";
import type { DeadLetterAdmin } from "./engine/dead-letter-port.js";
import { OutboxRelay } from "./bus/outbox-relay.js";
import { RedisStreamsBus } from "./bus/redis-streams-bus.js";
import type { ServiceConfig } from "./config/config.js";
import type { EventBus } from "./engine/bus-port.js";
import { EventIntake } from "./engine/event-intake.js";
import type { EventStore } from "./engine/event-store-port.js";
import type { Logger } from "./engine/logger.js";
import type { Orchestrator } from "./engine/orchestrator.js";
import type { Store } from "./engine/store-port.js";
import { sqlClientOf } from "./store/sql-client-of.js";
import { SqlEventStore } from "./store/sql-event-store.js";
import { sqlStoreReadings } from "./store/sql-observe.js";
import { BusMetrics } from "./telemetry/bus-metrics.js";
import type { Registry } from "prom-client";
import { errorMessage } from "./core/errors.js";

type Component = { status: "up" | "down"; [key: string]: unknown };

/** The service's event side: bus, outbox relay, intake (triggers and waits), event store. */
export interface ServiceEvents {
  bus: EventBus;
  /** Null when the store is not a SQL store (then there is no Events API). */
  events: EventStore | null;
  relay: OutboxRelay;
  /** The bus's dead letters for operators (null for a bus of another kind). */
  deadLetters: DeadLetterAdmin | null;
  /** `/health` components: the bus (ping) and the relay's last failure. */
  components(): Promise<Record<string, Component>>;
  /** Stops taking events (first, before the orchestrator drains), then stops the relay. */
  stop(): Promise<void>;
  /** Closes the bus, when it was opened here (last, after the orchestrator closed). */
  closeBus(): Promise<void>;
}

/**
 * The bus of the service: Redis Streams when `REDIS_URL` is set (events shared by every process
 * and kept across restarts; `redis+cluster://` seed nodes: on a Redis Cluster), otherwise the in-process bus (embedded: one process).
 */
export function openBus(config: ServiceConfig, logger: Logger): EventBus {
  if (config.redisCluster) return new RedisStreamsBus({ cluster: config.redisCluster, logger });
  return config.redisUrl
    ? new RedisStreamsBus({ url: config.redisUrl, logger })
    : new InProcessBus({ logger });
}

/**
 * Starts the relay (outbox -> bus) and the intake (bus -> waiting steps and triggers) of an
 * orchestrator, on `bus` (a bus given here is left open by `closeBus`).
 */
export async function startServiceEvents(options: {
  config: ServiceConfig;
  store: Store;
  orchestrator: Orchestrator;
  logger: Logger;
  bus?: EventBus;
  /** Where the bus, relay and intake metrics go (none when absent). */
  registry?: Registry;
}): Promise<ServiceEvents> {
  const { store, orchestrator, logger } = options;
  const bus = options.bus ?? openBus(options.config, logger);
  const client = sqlClientOf(store);
  const metrics = options.registry
    ? new BusMetrics(options.registry, {
        ...(bus instanceof RedisStreamsBus || bus instanceof InProcessBus
          ? { bus: () => bus.stats() }
          : {}),
        ...(client ? { outbox: sqlStoreReadings(client).outbox } : {}),
      })
    : null;
  const measuredBus = metrics ? metrics.instrumentBus(bus) : bus;
  const relay = new OutboxRelay({
    store: metrics ? metrics.instrumentRelay(store) : store,
    bus: measuredBus,
    logger,
  });
  let intake: EventIntake;
  try {
    intake = await EventIntake.start({ bus: measuredBus, store, orchestrator, logger });
  } catch (error) {
    if (!options.bus) await bus.close().catch(() => undefined);
    throw error;
  }
  relay.start();
  const kind =
    bus instanceof RedisStreamsBus
      ? "redis"
      : bus instanceof InProcessBus
        ? "in-process"
        : "custom";
  return {
    bus,
    events: client
      ? new SqlEventStore(client, {
          maxEventBytes: options.config.maxEventBytes,
          maxReplayEvents: options.config.maxReplayEvents,
        })
      : null,
    relay,
    deadLetters:
      bus instanceof RedisStreamsBus
        ? bus.deadLetterAdmin()
        : bus instanceof InProcessBus
          ? new InProcessDeadLetters(bus)
          : null,
    async components() {
      const began = performance.now();
      const relayStatus = relay.status;
      const relayInfo = { relay_sent: relayStatus.sent, relay_error: relayStatus.lastError };
      try {
        await bus.ping();
        return {
          bus: {
            status: "up",
            kind,
            latency_ms: Math.round((performance.now() - began) * 10) / 10,
            ...relayInfo,
          },
        };
      } catch (error) {
        return { bus: { status: "down", kind, error: errorMessage(error), ...relayInfo } };
      }
    },
    async stop() {
      await intake.stop();
      await relay.stop();
    },
    async closeBus() {
      if (!options.bus) await bus.close();
    },
  };
}
