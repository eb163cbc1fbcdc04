import type { FastifyReply, FastifyRequest } from "fastify";
import type { SagaEvent } from "../../core/events.js";
import type { SagaState } from "../../core/state.js";
import type { Orchestrator } from "../../engine/orchestrator.js";
import { eventView } from "../views.js";

/** Streams open now: shutdown ends them (clients resume with Last-Event-ID). */
export const openStreams = new Set<() => void>();

const ENDS: ReadonlySet<SagaEvent["type"]> = new Set([
  "SagaCompleted",
  "SagaCompensated",
  "SagaFailed",
]);
const POLL_MS = 500;
const HEARTBEAT_MS = 15_000;

/**
 * Writes a saga's events as Server-Sent Events in seq order: the history first (after
 * Last-Event-ID), then each transition as it is committed — at once for writes of this process,
 * within a poll interval for writes of other processes — and ends after the saga ends.
 */
export async function streamSaga(
  orchestrator: Orchestrator,
  request: FastifyRequest,
  reply: FastifyReply,
  state: SagaState,
): Promise<void> {
  const header = request.headers["last-event-id"];
  let sent = typeof header === "string" && /^\d+$/.test(header) ? Number(header) : 0;
  const tenantId = state.tenantId;
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

  let done = false;
  let syncing: Promise<void> | null = null;
  let again = false;
  const timers: NodeJS.Timeout[] = [];
  const finish = () => {
    if (done) return;
    done = true;
    stopListening();
    timers.forEach((t) => clearInterval(t));
    res.end();
  };

  const write = (seq: number, event: SagaEvent) => {
    if (done || seq !== sent + 1) return;
    res.write(
      `id: ${seq}\nevent: ${event.type}\ndata: ${JSON.stringify(eventView(seq, event))}\n\n`,
    );
    sent = seq;
    if (ENDS.has(event.type)) finish();
  };

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
        } catch (error) {
          request.log.warn({ err: error }, "saga stream could not read events; retrying");
        }
      } while (again && !done);
      syncing = null;
    })();
    return syncing;
  };

  const stopListening = orchestrator.onCommitted((s, events) => {
    if (s.id !== state.id || done) return;
    const first = s.seq - events.length + 1;
    if (first === sent + 1 && !syncing) events.forEach((e, i) => write(first + i, e));
    else if (first + events.length - 1 > sent) void sync();
  });
  request.raw.on("close", finish);
  openStreams.add(finish);
  reply.raw.on("close", () => openStreams.delete(finish));
  timers.push(setInterval(() => void sync(), POLL_MS));
  timers.push(setInterval(() => !done && res.write(": ping\n\n"), HEARTBEAT_MS));
  await sync();
}
