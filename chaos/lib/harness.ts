/**
 * The chaos harness: one PostgreSQL and one redis-server of its own, a downstream simulator with a
 * ledger, several worker processes and the relay, a mixed workload, and fault lanes (kill -9,
 * PostgreSQL immediate stops and backend terminations, Redis kill -9, SIGSTOP past the lease,
 * skewed clocks). When the faults stop, every saga must end; then the checker reads the event
 * store, the ledger and the bus.
 */
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { RedisStreamsBus } from "../../src/bus/redis-streams-bus.js";
import type { BusMessage } from "../../src/engine/bus-port.js";
import {
  startDownstreamSimulator,
  type DownstreamSimulator,
} from "../../src/testing/downstream-simulator.js";
import type { WorkerConfig, WorkerMessage } from "./worker-protocol.js";
import { check, type Figures, type Observations } from "./checker.js";
import { PgServer } from "./pg-server.js";
import { spawnWorker, type WorkerProcess } from "./processes.js";
import { RedisServer, type RedisPersistence } from "./redis-server.js";
import { freePort, Rng } from "./rng.js";
import { EVENT_TYPE } from "./workload.js";

export type FaultKind = "kill" | "pg" | "pgTerminate" | "redis" | "sigstop";

export interface ChaosConfig {
  seed: number;
  /** Worker processes (the relay is one more). */
  workers: number;
  /** How long faults are injected (the workload runs meanwhile). */
  faultMs: number;
  /** Stop starting sagas after this many acknowledged starts. */
  maxStarts: number;
  /** Mean pause between two faults of each lane, in ms (0 or absent: lane off). */
  faultEveryMs: Partial<Record<FaultKind, number>>;
  /** Probability that a marker (start acknowledged, create in flight, compensation) triggers a kill. */
  targetedKill: { afterAck: number; duringCreate: number; inCompensation: number };
  redis: RedisPersistence;
  /** Worker clocks: skew of slot i is skewsMs[i % length] (ms). */
  skewsMs: number[];
  leaseMs: number;
  heartbeatMs: number;
  pollIntervalMs: number;
  startEveryMs: number;
  startConcurrency: number;
  failRate: number;
  cancelRate: number;
  workMs: [number, number];
  crashLoopLimit: number;
  /** After the faults: how long every saga has to end. */
  drainMs: number;
  /** RSS sampling period. */
  sampleEveryMs: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  config: ChaosConfig;
  figures: Figures;
  durations: {
    setupMs: number;
    faultMs: number;
    drainMs: number;
    checkMs: number;
    totalMs: number;
  };
  faults: Record<string, number>;
  rss: { t: number; workersMaxKb: number; relayKb: number | null; harnessKb: number }[];
}

export const defaultConfig = (overrides: Partial<ChaosConfig> = {}): ChaosConfig => ({
  seed: Math.floor(Math.random() * 2 ** 31),
  workers: 3,
  faultMs: 60_000,
  maxStarts: 100_000,
  faultEveryMs: { kill: 2_000, pg: 20_000, pgTerminate: 10_000, redis: 15_000, sigstop: 6_000 },
  targetedKill: { afterAck: 0.01, duringCreate: 0.01, inCompensation: 0.03 },
  redis: "none",
  skewsMs: [0, 5 * 60_000, -5 * 60_000],
  leaseMs: 3_000,
  heartbeatMs: 1_000,
  pollIntervalMs: 250,
  startEveryMs: 400,
  startConcurrency: 2,
  failRate: 0.3,
  cancelRate: 0.1,
  workMs: [5, 60],
  crashLoopLimit: 5,
  drainMs: 180_000,
  sampleEveryMs: 10_000,
  ...overrides,
});

export async function runChaos(config: ChaosConfig): Promise<ChaosResult> {
  const log = config.log ?? (() => undefined);
  const t0 = Date.now();
  const rng = new Rng(config.seed);
  const runId = `r${config.seed.toString(36)}`;
  const redisPrefix = `chaos:${runId}:`;
  const obs: Observations = {
    acks: new Map(),
    startErrors: 0,
    cancels: new Map(),
    markers: [],
    timeline: [],
    eventPublishes: new Map(),
    busMessages: [],
    workerErrors: [],
  };
  const faults: Record<string, number> = {};
  const count = (name: string) => (faults[name] = (faults[name] ?? 0) + 1);
  const rss: ChaosResult["rss"] = [];

  const pgServer = new PgServer(await freePort());
  const redis = new RedisServer(await freePort(), config.redis);
  let sim: DownstreamSimulator | null = null;
  const workers: (WorkerProcess | null)[] = [];
  const procs: { relay: WorkerProcess | null } = { relay: null };
  let checkerBus: RedisStreamsBus | null = null;
  let publisherBus: RedisStreamsBus | null = null;
  let db: pg.Pool | null = null;
  let faulting = true;
  let running = true;
  let startsStopped = false;
  let incarnation = 0;
  const busy = new Set<string>();

  try {
    log(`seed ${config.seed} (replay with --seed ${config.seed})`);
    await pgServer.init();
    await pgServer.start();
    await redis.start();
    sim = await startDownstreamSimulator();
    db = new pg.Pool({ connectionString: pgServer.url, max: 3, connectionTimeoutMillis: 5_000 });
    db.on("error", () => undefined);

    // The checker's own consumer group: every message the bus hands out is recorded.
    checkerBus = new RedisStreamsBus({ url: redis.url, keyPrefix: redisPrefix, blockMs: 500 });
    // A short claim idle: an entry Redis handed out just before it was killed stays pending for
    // this member, and is read again once idle this long (the drain below waits for that).
    await checkerBus.subscribe(
      { group: "chaos-checker", consumer: "checker", claimIdleMs: 1_000 },
      (m: BusMessage) => {
        obs.busMessages.push({ id: m.id, type: m.type, key: m.key });
        return Promise.resolve();
      },
    );
    publisherBus = new RedisStreamsBus({ url: redis.url, keyPrefix: redisPrefix, blockMs: 500 });

    const baseConfig = (slot: number, role: "worker" | "relay"): WorkerConfig => ({
      role,
      workerId: `${role}-${slot}.${++incarnation}`,
      databaseUrl: pgServer.url,
      redisUrl: redis.url,
      redisPrefix,
      simulatorUrl: sim!.url,
      leaseMs: config.leaseMs,
      heartbeatMs: config.heartbeatMs,
      pollIntervalMs: config.pollIntervalMs,
      keyPrefix: role === "worker" ? `${runId}:w${slot}.${incarnation}` : null,
      startEveryMs: config.startEveryMs,
      startConcurrency: config.startConcurrency,
      failRate: config.failRate,
      skewMs: role === "worker" ? (config.skewsMs[slot % config.skewsMs.length] ?? 0) : 0,
      workMs: config.workMs,
      crashLoopLimit: config.crashLoopLimit,
    });

    let acked = 0;
    const onMessage = (w: WorkerProcess, m: WorkerMessage): void => {
      const now = Date.now();
      switch (m.t) {
        case "ack":
          obs.acks.set(m.key, { sagaId: m.sagaId, at: now, worker: w.config.workerId });
          acked++;
          if (acked >= config.maxStarts && !startsStopped) {
            startsStopped = true;
            for (const x of workers) x?.send("stop-starts");
          }
          if (rng.chance(config.cancelRate)) {
            void sleep(rng.int(0, 2_000)).then(() => {
              const target = pickLive(workers, rng);
              if (!target) return;
              obs.cancels.set(m.sagaId, "sent");
              target.send(`cancel ${m.sagaId}`);
            });
          }
          if (faulting && rng.chance(config.targetedKill.afterAck)) void kill(w, "kill-after-ack");
          break;
        case "starting":
          if (faulting && rng.chance(config.targetedKill.duringCreate))
            void kill(w, "kill-during-create");
          break;
        case "start-error":
          obs.startErrors++;
          break;
        case "cancel-ack":
          obs.cancels.set(m.sagaId, "accepted");
          break;
        case "cancel-error":
          if (obs.cancels.get(m.sagaId) === "sent")
            obs.cancels.set(m.sagaId, `refused: ${m.error}`);
          break;
        case "step":
          obs.markers.push({ ...m, worker: w.config.workerId, at: now });
          if (faulting && m.phase === "undo" && rng.chance(config.targetedKill.inCompensation))
            void kill(w, "kill-in-compensation");
          break;
        case "error":
          if (obs.workerErrors.length < 200)
            obs.workerErrors.push(`${w.config.workerId}: ${m.error}`);
          break;
        default:
          break;
      }
    };

    /** A process that ended without being killed by the harness: reported, and replaced. */
    const watch = (w: WorkerProcess, respawn: () => void): void => {
      void w.exited.then(() => {
        if (w.killedOnPurpose) return;
        count("unexpected-exit");
        obs.timeline.push({ at: Date.now(), kind: "crash", target: w.config.workerId });
        if (running) respawn();
        // The trace may still be in the pipe when the process exits: report it once read.
        void w.stderrRead.then(() =>
          obs.workerErrors.unshift(
            `${w.config.workerId} exited by itself (code ${w.exit?.code}, signal ${w.exit?.signal}): ${w.stderrTail || w.errors.slice(-3).join(" | ")}`,
          ),
        );
      });
    };
    const spawnSlot = (slot: number): void => {
      const w = spawnWorker(slot, baseConfig(slot, "worker"), onMessage);
      workers[slot] = w;
      if (startsStopped) w.send("stop-starts");
      watch(w, () => spawnSlot(slot));
    };
    const spawnRelay = (): void => {
      const w = spawnWorker(-1, baseConfig(0, "relay"), onMessage);
      procs.relay = w;
      watch(w, spawnRelay);
    };

    /** kill -9 of one process, then a new incarnation in its slot shortly after. */
    const kill = async (w: WorkerProcess, kind: string): Promise<void> => {
      const key = `proc:${w.config.workerId}`;
      if (busy.has(key) || !w.alive) return;
      busy.add(key);
      obs.timeline.push({ at: Date.now(), kind: "kill", target: w.config.workerId });
      count(kind);
      await w.kill9();
      await sleep(rng.int(100, 500));
      busy.delete(key);
      if (!running) return;
      if (w.config.role === "relay") spawnRelay();
      else spawnSlot(w.slot);
    };

    for (let i = 0; i < config.workers; i++) spawnSlot(i);
    spawnRelay();
    const deadline = Date.now() + 120_000;
    while (!workers.every((w) => w?.ready) || !procs.relay?.ready) {
      if (Date.now() > deadline)
        throw new Error(
          `workers not ready in 120 s: ${workers.flatMap((w) => w?.errors ?? []).join("; ")}`,
        );
      await sleep(100);
    }
    const setupMs = Date.now() - t0;
    log(`setup ${setupMs} ms; faults for ${config.faultMs} ms`);

    // Event publisher: a saga waiting for chaos.go gets it (again every 5 s while it waits).
    const publisher = (async () => {
      while (running) {
        await sleep(500);
        try {
          const { rows } = await db.query<{ key: string }>(
            `SELECT state->'input'->>'key' AS key FROM saga_instances
              WHERE name = 'chaos_event' AND status = 'running'
                AND state->'steps'->'w'->>'status' = 'suspended'`,
          );
          const now = Date.now();
          for (const { key } of rows) {
            const sent = obs.eventPublishes.get(key) ?? [];
            if (sent.length > 0 && now - sent[sent.length - 1]! < 5_000) continue;
            await publisherBus.publish([
              {
                id: `${key}:go:${sent.length}`,
                type: EVENT_TYPE,
                tenantId: "default",
                key,
                data: { key },
                occurredAt: now,
              },
            ]);
            obs.eventPublishes.set(key, [...sent, now]);
          }
        } catch {
          // Database or Redis down: next round.
        }
      }
    })();

    const sampler = (async () => {
      while (running) {
        const live = workers.filter((w): w is WorkerProcess => !!w?.alive);
        rss.push({
          t: Date.now() - t0,
          workersMaxKb: Math.max(0, ...live.map((w) => w.rssKb() ?? 0)),
          relayKb: procs.relay?.rssKb() ?? null,
          harnessKb: Math.round(process.memoryUsage().rss / 1024),
        });
        await sleep(config.sampleEveryMs);
      }
    })();

    // Fault lanes, each its own seeded schedule.
    /** SIGSTOP episodes under way (each ends with its SIGCONT). */
    const episodes = new Set<Promise<void>>();
    const lane = async (kind: FaultKind, act: () => Promise<void>): Promise<void> => {
      const every = config.faultEveryMs[kind] ?? 0;
      if (every <= 0) return;
      const laneRng = new Rng(config.seed ^ kind.length ^ every);
      while (faulting) {
        await sleep(every * (0.5 + laneRng.next()));
        if (!faulting) break;
        try {
          await act();
        } catch (error) {
          obs.workerErrors.push(`fault ${kind}: ${String(error)}`);
        }
      }
    };
    const lanes = [
      lane("kill", async () => {
        const all = [
          ...workers.filter((w): w is WorkerProcess => !!w?.alive),
          ...(procs.relay ? [procs.relay] : []),
        ];
        const target = all.length > 0 ? rng.pick(all) : null;
        if (target)
          await kill(target, target.config.role === "relay" ? "kill-relay" : "kill-random");
      }),
      lane("pg", async () => {
        obs.timeline.push({ at: Date.now(), kind: "pg-down", target: "postgres" });
        await pgServer.stopImmediate();
        count("pg-immediate-stop");
        await sleep(rng.int(300, 3_000));
        await pgServer.start();
        count("pg-restart");
        obs.timeline.push({ at: Date.now(), kind: "pg-up", target: "postgres" });
      }),
      lane("pgTerminate", async () => {
        if (!pgServer.running) return;
        obs.timeline.push({ at: Date.now(), kind: "pg-terminate", target: "postgres" });
        faults["pg-backends-terminated"] =
          (faults["pg-backends-terminated"] ?? 0) +
          (await pgServer.terminateBackends(rng.int(1, 4)));
        count("pg-terminate-rounds");
      }),
      lane("redis", async () => {
        obs.timeline.push({ at: Date.now(), kind: "redis-down", target: "redis" });
        await redis.kill();
        count("redis-kill9");
        await sleep(rng.int(200, 2_000));
        await redis.start();
        count("redis-restart");
      }),
      lane("sigstop", () => {
        const live = workers.filter((w): w is WorkerProcess => !!w?.alive && !w.stopped);
        if (live.length === 0) return Promise.resolve();
        const target = rng.pick(live);
        const key = `proc:${target.config.workerId}`;
        if (busy.has(key)) return Promise.resolve();
        busy.add(key);
        obs.timeline.push({ at: Date.now(), kind: "sigstop", target: target.config.workerId });
        target.signal("SIGSTOP");
        count("sigstop");
        // The episode goes on without holding the lane: several workers may be paused at once.
        const pausedMs = Math.round(config.leaseMs * (1.5 + rng.next()));
        const episode = sleep(pausedMs).then(() => {
          target.signal("SIGCONT");
          obs.timeline.push({ at: Date.now(), kind: "sigcont", target: target.config.workerId });
          busy.delete(key);
        });
        episodes.add(episode);
        void episode.finally(() => episodes.delete(episode));
        return Promise.resolve();
      }),
    ];

    const faultStart = Date.now();
    await sleep(config.faultMs);
    faulting = false;
    await Promise.all(lanes);
    await Promise.all([...episodes]);
    const faultMs = Date.now() - faultStart;
    log(`faults stopped after ${faultMs} ms: ${JSON.stringify(faults)}`);

    // Drain: no more starts; everything back up; every saga must end.
    for (const w of workers) {
      if (w && !w.alive) spawnSlot(w.slot);
      w?.signal("SIGCONT");
    }
    startsStopped = true;
    for (const w of workers) w?.send("stop-starts");
    const drainStart = Date.now();
    const active = async (): Promise<number> => {
      const { rows } = await db!.query<{ n: string }>(
        `SELECT count(*) AS n FROM saga_instances WHERE status IN ('running', 'compensating')`,
      );
      return Number(rows[0]!.n);
    };
    let left = await active();
    while (left > 0 && Date.now() - drainStart < config.drainMs) {
      await sleep(1_000);
      left = await active().catch(() => left);
    }
    const drainMs = Date.now() - drainStart;
    log(`drain: ${left} sagas still active after ${drainMs} ms`);

    // The workers are done: stop them, so nothing changes under the checker.
    running = false;
    await Promise.all(workers.map((w) => (w ? w.kill9() : Promise.resolve())));
    // Let the relay empty the outbox and the checker read what it sent.
    const outboxDeadline = Date.now() + 60_000;
    for (;;) {
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM saga_outbox`);
      if (Number(rows[0]!.n) === 0 || Date.now() > outboxDeadline) break;
      await sleep(500);
    }
    // ...and until the checker's group has read and acknowledged every entry of the stream
    // (no lag, nothing pending), rather than for a fixed time that a loaded machine can outlast.
    const checkerDeadline = Date.now() + 60_000;
    for (;;) {
      const stats = await checkerBus.stats().catch(() => null);
      const group = stats?.groups.find((g) => g.group === "chaos-checker");
      if (group && group.lag === 0 && group.pending === 0) break;
      if (Date.now() > checkerDeadline) {
        log(`checker group not drained after 60 s: ${JSON.stringify(group ?? null)}`);
        break;
      }
      await sleep(250);
    }
    await procs.relay?.kill9();
    await Promise.all([publisher, sampler]);

    const checkStart = Date.now();
    const figures = await check(db, sim, obs, {
      leaseMs: config.leaseMs,
      stuckAfterDrain: left,
      drainMs,
    });
    const checkMs = Date.now() - checkStart;
    return {
      config,
      figures,
      durations: { setupMs, faultMs, drainMs, checkMs, totalMs: Date.now() - t0 },
      faults,
      rss,
    };
  } finally {
    faulting = false;
    await Promise.all(workers.map((w) => (w ? w.kill9() : Promise.resolve())));
    await procs.relay?.kill9();
    await checkerBus?.close().catch(() => undefined);
    await publisherBus?.close().catch(() => undefined);
    await db?.end().catch(() => undefined);
    await sim?.close().catch(() => undefined);
    await redis.dispose().catch(() => undefined);
    await pgServer.dispose().catch(() => undefined);
  }
}

function pickLive(workers: (WorkerProcess | null)[], rng: Rng): WorkerProcess | null {
  const live = workers.filter((w): w is WorkerProcess => !!w?.alive && w.ready && !w.stopped);
  return live.length > 0 ? rng.pick(live) : null;
}
