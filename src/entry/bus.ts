/**
 * `saga-orchestrator/bus`: the event bus port, its adapters (Redis Streams for many processes,
 * in-process for one), the outbox relay (store -> bus) and the intake (bus -> triggers and
 * waiting steps). The service wires these for you; a library user wires them like this:
 * @example
 * const bus = new RedisStreamsBus({ url: "redis://127.0.0.1:6379" });
 * // or on a Redis Cluster: new RedisStreamsBus({ cluster: { nodes: [{ host: "10.0.0.1", port: 7000 }] } })
 * const relay = new OutboxRelay({ store, bus });
 * relay.start();
 * const intake = await EventIntake.start({ bus, store, orchestrator });
 * // … on shutdown: await intake.stop(); await relay.stop(); await orchestrator.close(); await bus.close();
 */
export {
  PartialBatchFailure,
  type BatchHandler,
  type BusMessage,
  type EventBus,
  type MessageHandler,
  type SubscribeOptions,
  type Subscription,
} from "../engine/bus-port.js";
export type { DeadLetterAdmin, DeadLetterView } from "../engine/dead-letter-port.js";
export { EventIntake, type EventIntakeOptions } from "../engine/event-intake.js";
export type { BusStats } from "../bus/bus-stats.js";
export type { DeadLetter } from "../bus/dead-letter.js";
export type { StreamKeys } from "../bus/redis-commands.js";
export type { RedisClusterOptions } from "../bus/redis-connection.js";
export { InProcessBus, type InProcessBusOptions } from "../bus/in-process-bus.js";
export { RedisStreamsBus, type RedisStreamsBusOptions } from "../bus/redis-streams-bus.js";
export { OutboxRelay, type OutboxRelayOptions } from "../bus/outbox-relay.js";
