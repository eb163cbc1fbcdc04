import type { FastifyReply, FastifyRequest } from "fastify";
import type { SagaEvent } from "../../core/events.js";
import { isSettled, type SagaState } from "../../core/state.js";
import type { Orchestrator } from "../../engine/orchestrator.js";
import type { StreamHub } from "../stream-hub.js";
import { eventView } from "../views.js";

const ENDS: ReadonlySet<SagaEvent["type"]> = new Set([
  "SagaCompleted",
  "SagaCompensated",
  "SagaFailed",
]);
/** How often a stream looks at the saga's row for writes of other processes. */
const POLL_MS = 500;

export interface StreamOptions {
  hub: StreamHub;
  /** A comment line on the stream this often, so that proxies keep an idle stream open. */
  keepAliveMs: number;
}

/**
 * Writes a saga's events as Server-Sent Events in seq order: the history first (after
 * Last-Event-ID), then each transition as it is committed — at once for writes of this process
 * (through the hub's per-saga index), within a poll interval for writes of other processes (a
 * read of the saga's row; its events only when it moved). Ends once the saga has ended and the
 * client has every event up to the end — also at once when Last-Event-ID is already past it.
 * Throws 429 TOO_MANY_STREAMS (before anything is written) when a cap is reached.
 */
export async function streamSaga(
  orchestrator: Orchestrator,
  options: StreamOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  state: SagaState,
): Promise<void> {
  const header = request.headers["last-event-id"];
  let sent = typeof header === "string" && /^\d{1,15}$/.test(header) ? Number(header) : 0;
  const tenantId = state.tenantId;

  let done = false;
  let syncing: Promise<void> | null = null;
  let again = false;
  const timers: NodeJS.Timeout[] = [];
  const finish = () => {
    if (done) return;
    done = true;
    lease.release();
    timers.forEach((t) => clearInterval(t));
    res.end();
  };

  const write = (seq: number, event: SagaEvent) => {
    if (done || seq !== sent + 1) return;
    res.write(
      `id: ${seq}\nevent: ${event.type}\ndata: ${JSON.stringify(eventView(seq, event))}\n\n`,
    );
    sent = seq;
  };
  /** The saga ended (its last event is an end) and the client has everything up to it. */
  const caughtUp = (last: SagaEvent["type"] | undefined, count: number) =>
    last !== undefined && ENDS.has(last) && sent >= count;

  const sync = (): Promise<void> => {
    if (syncing) {
      again = true;
      return syncing;
    }
    syncing = (async () => {
      do {
        again = false;
        try {
          const events = await orchestrator.events(state.id, { tenantId });
          for (let i = sent; i < events.length && !done; i++) write(i + 1, events[i]!);
          if (caughtUp(events[events.length - 1]?.type, events.length)) finish();
        } catch (error) {
          request.log.warn({ err: error }, "saga stream could not read events; retrying");
        }
      } while (again && !done);
      syncing = null;
    })();
    return syncing;
  };

  const poll = async () => {
    if (done || syncing) return;
    try {
      const now = await orchestrator.get(state.id, { tenantId });
      if (!now) return finish();
      if (now.seq > sent) await sync();
      else if (isSettled(now.status)) await sync();
    } catch (error) {
      request.log.warn({ err: error }, "saga stream could not read the saga; retrying");
    }
  };

  const lease = options.hub.open(tenantId, request.principal!.subject, state.id, {
    onCommitted: (s, events) => {
      if (done) return;
      const first = s.seq - events.length + 1;
      if (first === sent + 1 && !syncing) {
        events.forEach((e, i) => write(first + i, e));
        if (caughtUp(events[events.length - 1]?.type, s.seq)) finish();
      } else if (s.seq > sent) void sync();
    },
    end: () => finish(),
  });

  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
    "x-correlation-id": request.id,
  });
  res.write(": stream of saga " + state.id + "\n\n");
  request.raw.on("close", finish);
  res.on("close", finish);
  timers.push(setInterval(() => void poll(), POLL_MS));
  timers.push(setInterval(() => !done && res.write(": keep-alive\n\n"), options.keepAliveMs));
  await sync();
}
