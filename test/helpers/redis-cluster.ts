import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { waitUntil } from "./time.js";

const run = promisify(execFile);

/** A throwaway Redis Cluster: 3 masters, no replicas, on 127.0.0.1. */
export interface RedisClusterUnderTest {
  /** The seed nodes, as the bus's `cluster.nodes` takes them. */
  nodes: { host: string; port: number }[];
  /** A plain connection to one node (for CLUSTER and node-local commands). */
  node(port: number): Redis;
  /** A cluster client for assertions; fails at once instead of queueing. */
  client(): Cluster;
  /** The port of the master serving `slot`, from CLUSTER SLOTS. */
  masterOf(slot: number): Promise<number>;
  /** Stops one node (SIGTERM): its slots have no master until it is started again. */
  stopNode(port: number): Promise<void>;
  /** Starts a stopped node again (same folder and nodes file: it rejoins with its slots). */
  startNode(port: number): Promise<void>;
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";

/**
 * Starts three `redis-server --cluster-enabled yes` processes on free ports (and free bus ports,
 * port + 10000) in a temporary folder, joins them with `redis-cli --cluster create`, and waits
 * until every node reports `cluster_state:ok`. Fails loudly when the binaries are missing.
 */
export async function startRedisCluster(): Promise<RedisClusterUnderTest> {
  const dir = await mkdtemp(join(tmpdir(), "saga-redis-cluster-"));
  const children: ChildProcess[] = [];
  const byPort = new Map<number, ChildProcess>();
  const clients: (Redis | Cluster)[] = [];
  // A test process that dies without afterAll must not leave cluster nodes behind.
  const killOnExit = () => {
    for (const child of children) child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  const stop = async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await Promise.all(children.map(stopChild));
    process.removeListener("exit", killOnExit);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = await freeClusterPorts(3);
    const launch = (port: number) => {
      const child = startNode(dir, port);
      children.push(child);
      byPort.set(port, child);
    };
    for (const port of ports) launch(port);
    for (const port of ports) {
      await waitUntil(
        () => `redis-server on port ${port} answers (log: ${join(dir, `${port}.log`)})`,
        () => ping(port),
        { timeoutMs: 15_000, retryErrors: true },
      );
    }
    await run(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...ports.map((p) => `${HOST}:${p}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      { timeout: 30_000 },
    );
    for (const port of ports) {
      await waitUntil(
        `cluster_state:ok on port ${port}`,
        async () => (await info(port)).includes("cluster_state:ok"),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    }
    const node = (port: number) => {
      const redis = new Redis({ host: HOST, port, protocol: 2, maxRetriesPerRequest: 1 });
      clients.push(redis);
      return redis;
    };
    return {
      nodes: ports.map((port) => ({ host: HOST, port })),
      node,
      client() {
        const cluster = new Cluster(
          ports.map((port) => ({ host: HOST, port })),
          { redisOptions: { protocol: 2, maxRetriesPerRequest: 1 } },
        );
        clients.push(cluster);
        return cluster;
      },
      async masterOf(slot) {
        const ranges = (await node(ports[0]!).call("CLUSTER", ["SLOTS"])) as [
          number,
          number,
          [string, number, ...unknown[]],
        ][];
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (!range) throw new Error(`no master serves slot ${slot}`);
        return Number(range[2][1]);
      },
      async stopNode(port) {
        const child = byPort.get(port);
        if (child) await stopChild(child);
      },
      async startNode(port) {
        launch(port);
        await waitUntil(`redis-server on port ${port} answers again`, () => ping(port), {
          timeoutMs: 15_000,
          retryErrors: true,
        });
      },
      stop,
    };
  } catch (error) {
    const logs = await Promise.all(
      children.map((c) =>
        readFile(join(dir, `${String(c.spawnargs[2])}.log`), "utf8").catch(() => ""),
      ),
    );
    await stop();
    throw new Error(
      `could not start a Redis Cluster (${(error as Error).message}); is redis-server on PATH? ` +
        `(.ci/run installs Debian's redis-server)\n${logs.join("\n").slice(-2_000)}`,
      { cause: error },
    );
  }
}

function startNode(dir: string, port: number): ChildProcess {
  // argv[2] is the port: the failure report above finds the log by it.
  const child = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      HOST,
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      `nodes-${port}.conf`,
      "--cluster-node-timeout",
      "5000",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--logfile",
      `${port}.log`,
    ],
    { stdio: "ignore" },
  );
  child.on("error", () => undefined); // ENOENT shows up as the node not answering
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

async function ping(port: number): Promise<boolean> {
  const { stdout } = await run("redis-cli", ["-h", HOST, "-p", String(port), "PING"]);
  return stdout.trim() === "PONG";
}

async function info(port: number): Promise<string> {
  const { stdout } = await run("redis-cli", ["-h", HOST, "-p", String(port), "CLUSTER", "INFO"]);
  return stdout;
}

/** `count` ports p with p and p + 10000 (the cluster bus) both free now. */
async function freeClusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (ports.includes(port)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) ports.push(port);
  }
  return ports;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * A cluster of the calling test file's own: started in `beforeAll`, stopped in `afterAll`. The
 * returned function gives it (and throws if it did not start).
 */
export function useRedisCluster(): () => RedisClusterUnderTest {
  let cluster: RedisClusterUnderTest | null = null;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error("the Redis Cluster did not start (see beforeAll)");
    return cluster;
  };
}
