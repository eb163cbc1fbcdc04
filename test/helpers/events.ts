import { createHash } from "node:crypto";
import { afterEach } from "vitest";
import { RedisStreamsBus } from "../../src/bus/redis-streams-bus.js";
import type { SagaEvent } from "../../src/core/events.js";
import type { BusMessage } from "../../src/engine/bus-port.js";
import type { Logger } from "../../src/engine/logger.js";
import { deleteKeys, rawRedis, TEST_REDIS_URL, uniqueKeyPrefix } from "./redis.js";

/** Saga event types that go to the outbox, and their bus types (side-effects.ts). */
export const LIFECYCLE: Record<string, string> = {
  SagaStarted: "saga.started",
  StepCompleted: "saga.step.completed",
  StepFailed: "saga.step.failed",
  SagaCompensationStarted: "saga.compensating",
  SagaCompleted: "saga.completed",
  SagaCompensated: "saga.compensated",
  SagaFailed: "saga.failed",
};

/** The outbox id of a saga's event `seq`: md5("<sagaId>:<seq>") as a UUID, as the store writes it. */
export function lifecycleId(sagaId: string, seq: number): string {
  const h = createHash("md5").update(`${sagaId}:${seq}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** What the bus must carry for a saga, in order: its lifecycle events (id, type, seq). */
export function expectedLifecycle(
  sagaId: string,
  history: readonly SagaEvent[],
): { id: string; type: string; seq: number }[] {
  return history.flatMap((event, i) => {
    const type = LIFECYCLE[event.type];
    return type ? [{ id: lifecycleId(sagaId, i + 1), type, seq: i + 1 }] : [];
  });
}

/** A Redis Streams bus on a key prefix of its own, closed and deleted after the test. */
export function redisBuses(): { open(logger?: Logger): RedisStreamsBus } {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
  });
  return {
    open(logger?: Logger) {
      const keyPrefix = uniqueKeyPrefix();
      const bus = new RedisStreamsBus({
        url: TEST_REDIS_URL,
        keyPrefix,
        blockMs: 100,
        batch: 50,
        ...(logger ? { logger } : {}),
      });
      cleanups.push(async () => {
        await bus.close();
        const redis = rawRedis();
        await deleteKeys(redis, keyPrefix);
        redis.disconnect();
      });
      return bus;
    },
  };
}

/** Messages seen by a subscriber, grouped by key (a saga id for lifecycle events). */
export function byKey(messages: readonly BusMessage[]): Map<string, BusMessage[]> {
  const out = new Map<string, BusMessage[]>();
  for (const m of messages) {
    const list = out.get(m.key ?? "") ?? [];
    list.push(m);
    out.set(m.key ?? "", list);
  }
  return out;
}

/** The first occurrence of each id, in order (what a consumer that drops duplicates keeps). */
export function firstOccurrences(messages: readonly BusMessage[]): BusMessage[] {
  const seen = new Set<string>();
  return messages.filter((m) => (seen.has(m.id) ? false : (seen.add(m.id), true)));
}
