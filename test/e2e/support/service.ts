import { sleep, waitUntil } from "../../helpers/time.js";
import { freePort, childEnv, spawnSaga, type Spawned } from "./processes.js";

/** A `saga serve` process on 127.0.0.1 and a free port. */
export interface ServiceProcess {
  url: string;
  process: Spawned;
  /** Headers for the service's API (the API key when one is configured). */
  headers: Record<string, string>;
}

/**
 * Starts `saga serve` (or `args`) with `env` (plus PORT and HOST) and waits until GET /health/ready answers
 * 200. Fails with the process's output when it exits or is not ready within `timeoutMs`.
 */
export async function startService(
  name: string,
  env: Record<string, string>,
  options: { apiKey?: string; timeoutMs?: number; args?: readonly string[] } = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnSaga(
    name,
    options.args ?? ["serve"],
    childEnv({ LOG_LEVEL: "warn", ...env, PORT: String(port), HOST: "127.0.0.1" }),
  );
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!child.alive) throw new Error(child.describe("exited before it was ready"));
    try {
      const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.signal("SIGKILL");
      throw new Error(child.describe(`not ready within ${timeoutMs} ms`));
    }
    await sleep(200);
  }
  return {
    url,
    process: child,
    headers: options.apiKey ? { "x-api-key": options.apiKey } : {},
  };
}

/** SIGTERM, then SIGKILL when the process has not ended within `graceMs`. */
export async function stopService(service: ServiceProcess | undefined, graceMs = 30_000) {
  if (!service?.process.alive) return;
  service.process.signal("SIGTERM");
  try {
    await service.process.waitForExit(graceMs);
  } catch {
    service.process.signal("SIGKILL");
    await service.process.waitForExit(15_000);
  }
}

export interface SagaJson {
  saga_id: string;
  saga_type: string;
  status: string;
  reason: string | null;
  correlation_id: string | null;
  idempotency_key: string | null;
  attributes: Record<string, string>;
  event_count: number;
}

export interface EventJson {
  seq: number;
  type: string;
  at: string;
  data: Record<string, unknown>;
}

/** A JSON request to the service (its API key included); any status is returned, not thrown. */
export async function api<T = unknown>(
  service: ServiceProcess,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: T }> {
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: {
      accept: "application/json",
      ...service.headers,
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as T };
}

const ENDED = new Set(["completed", "compensated", "failed"]);

/** Polls GET /sagas/{id} until the saga has ended (completed, compensated or failed). */
export async function waitForEnd(
  service: ServiceProcess,
  sagaId: string,
  timeoutMs = 60_000,
): Promise<SagaJson> {
  return waitUntil(
    `saga ${sagaId} ended`,
    async () => {
      const { status, body } = await api<SagaJson>(service, "GET", `/sagas/${sagaId}`);
      if (status !== 200) throw new Error(`GET /sagas/${sagaId} answered ${status}`);
      return ENDED.has(body.status) ? body : undefined;
    },
    { timeoutMs, intervalMs: 100, retryErrors: true },
  );
}

export async function eventsOf(service: ServiceProcess, sagaId: string): Promise<EventJson[]> {
  const { status, body } = await api<{ events: EventJson[] }>(
    service,
    "GET",
    `/sagas/${sagaId}/events`,
  );
  if (status !== 200) throw new Error(`GET /sagas/${sagaId}/events answered ${status}`);
  return body.events;
}

export interface SseMessage {
  id: string | null;
  event: string | null;
  data: string;
}

function parseSseBlock(block: string): SseMessage | null {
  const message: SseMessage = { id: null, event: null, data: "" };
  let fields = 0;
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue; // comments: the preamble, heartbeats
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    fields++;
    if (field === "id") message.id = value;
    else if (field === "event") message.event = value;
    else if (field === "data") message.data += (message.data ? "\n" : "") + value;
  }
  return fields > 0 ? message : null;
}

/** Reads a Server-Sent Events response as it arrives: the messages so far, and its end. */
export class SseReader {
  readonly messages: SseMessage[] = [];
  /** Resolves when the server ends the response; rejects when reading fails. */
  readonly closed: Promise<void>;
  private ended = false;

  constructor(private readonly response: Response) {
    this.closed = this.pump();
    this.closed.catch(() => undefined); // observed by waitForClose
  }

  private async pump(): Promise<void> {
    const reader = this.response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer = (buffer + chunk.value).replace(/\r\n?/g, "\n");
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const message = parseSseBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (message) this.messages.push(message);
        }
      }
    } finally {
      this.ended = true;
    }
  }

  /** Waits until a message matches; fails on timeout or when the stream ends first. */
  async waitFor(what: string, match: (m: SseMessage) => boolean, timeoutMs: number) {
    return waitUntil(
      `stream message ${what}`,
      () => {
        const found = this.messages.find(match);
        if (!found && this.ended) throw new Error("the stream ended first");
        return Promise.resolve(found);
      },
      { timeoutMs, intervalMs: 20 },
    );
  }

  /** Waits until the server ends the stream; fails after `timeoutMs`. */
  async waitForClose(timeoutMs: number): Promise<SseMessage[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the event stream did not close within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.closed, timeout]);
      return this.messages;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Opens GET /sagas/{id}/stream (aborted after `maxMs` at the latest, so no test hangs on it). */
export async function openStream(
  service: ServiceProcess,
  sagaId: string,
  headers: Record<string, string> = {},
  maxMs = 120_000,
): Promise<{ response: Response; reader: SseReader }> {
  const response = await fetch(`${service.url}/sagas/${sagaId}/stream`, {
    headers: { accept: "text/event-stream", ...service.headers, ...headers },
    signal: AbortSignal.timeout(maxMs),
  });
  return { response, reader: new SseReader(response) };
}
