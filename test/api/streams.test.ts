import { request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/core/events.js";
import type { SagaState } from "../../src/core/state.js";
import { StreamHub, type StreamSubscriber } from "../../src/api/stream-hub.js";
import { HttpError } from "../../src/api/http-errors.js";
import { waitUntil } from "../helpers/time.js";
import { sagaIn, useService } from "./support/service.js";

const KEYS = {
  a1: "stream-a1-key-0123456789",
  a2: "stream-a2-key-0123456789",
  b: "stream-b-key-0123456789ab",
  c: "stream-c-key-0123456789ab",
};

/** An SSE response read over a real socket. */
interface OpenStream {
  status: number;
  text(): string;
  ended: Promise<void>;
  close(): void;
}

describe("saga streams: close when caught up, keep-alive, caps (PostgreSQL)", () => {
  const h = useService(
    {
      API_KEYS: `${KEYS.a1}=ta:viewer,${KEYS.a2}=ta:viewer,${KEYS.b}=tb:viewer,${KEYS.c}=tc:viewer`,
      SAGA_STREAMS_PER_PRINCIPAL: "2",
      SAGA_STREAMS_PER_TENANT: "3",
      SAGA_STREAMS_MAX: "4",
      SAGA_STREAM_KEEPALIVE_SECONDS: "0.05",
    },
    { store: "postgres" },
  );
  let base: string;
  const open: OpenStream[] = [];

  beforeAll(async () => {
    await h.service.app.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(h.service.app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    for (const s of open) s.close();
  });

  const stream = (path: string, key: string, headers: Record<string, string> = {}) =>
    new Promise<OpenStream>((resolve, reject) => {
      const req = httpRequest(`${base}${path}`, { headers: { "x-api-key": key, ...headers } });
      req.on("error", reject);
      req.on("response", (res: IncomingMessage) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        const ended = new Promise<void>((done) => res.on("close", () => done()));
        const s: OpenStream = {
          status: res.statusCode ?? 0,
          text: () => body,
          ended,
          close: () => req.destroy(),
        };
        open.push(s);
        // Resolve once the server has answered something (headers + first bytes or the end).
        const ready = () => resolve(s);
        if (res.statusCode !== 200) res.on("end", ready);
        else res.once("data", ready);
      });
      req.end();
    });

  const app = () => h.service.app;
  const ids = (text: string) => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));

  it("a finished saga's stream sends the history and closes", async () => {
    const id = await sagaIn(h.service, "ta", "completed");
    const count = (await h.service.orchestrator.events(id, { tenantId: "ta" })).length;
    // inject resolves only when the response has ended.
    const res = await app().inject({
      method: "GET",
      url: `/sagas/${id}/stream`,
      headers: { "x-api-key": KEYS.a1 },
    });
    expect(res.statusCode).toBe(200);
    expect(ids(res.body)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect(res.body).toContain("event: SagaCompleted");
  });

  it.each([
    ["exactly at the end", 0],
    ["past the end", 5],
    ["far past the end", 1_000_000],
  ])("Last-Event-ID %s of a finished saga closes at once, sending nothing", async (_n, extra) => {
    const id = await sagaIn(h.service, "ta", "completed");
    const count = (await h.service.orchestrator.events(id, { tenantId: "ta" })).length;
    const res = await app().inject({
      method: "GET",
      url: `/sagas/${id}/stream`,
      headers: { "x-api-key": KEYS.a1, "last-event-id": String(count + extra) },
    });
    expect(res.statusCode).toBe(200);
    expect(ids(res.body)).toEqual([]);
  });

  it("a failed saga (ended in failed) closes too; Last-Event-ID resumes after the given seq", async () => {
    const id = await sagaIn(h.service, "ta", "failed");
    const count = (await h.service.orchestrator.events(id, { tenantId: "ta" })).length;
    const res = await app().inject({
      method: "GET",
      url: `/sagas/${id}/stream`,
      headers: { "x-api-key": KEYS.a1, "last-event-id": "2" },
    });
    expect(ids(res.body)).toEqual(Array.from({ length: count - 2 }, (_, i) => i + 3));
    expect(res.body).toContain("event: SagaFailed");
  });

  it("a running saga's stream sends keep-alive comments, then its end, then closes", async () => {
    const id = await sagaIn(h.service, "ta", "running");
    const s = await stream(`/sagas/${id}/stream`, KEYS.a1);
    expect(s.status).toBe(200);
    await waitUntil("a keep-alive comment", () => s.text().includes(": keep-alive"), {
      timeoutMs: 30_000,
    });
    await h.service.orchestrator.cancel(id, { tenantId: "ta" });
    await s.ended;
    expect(s.text()).toContain("event: SagaCompensated");
    const count = (await h.service.orchestrator.events(id, { tenantId: "ta" })).length;
    expect(ids(s.text())).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });

  it("caps open streams per principal, per tenant and per server with 429 TOO_MANY_STREAMS", async () => {
    const id = { ta: "", tb: "", tc: "" };
    id.ta = await sagaIn(h.service, "ta", "running");
    id.tb = await sagaIn(h.service, "tb", "running");
    id.tc = await sagaIn(h.service, "tc", "running");
    const path = (t: keyof typeof id) => `/sagas/${id[t]}/stream`;
    const refused = (s: OpenStream, scope: string) => {
      expect(s.status, s.text()).toBe(429);
      const body = JSON.parse(s.text()) as { error: { code: string; details: unknown } };
      expect(body.error.code).toBe("TOO_MANY_STREAMS");
      expect(body.error.details).toMatchObject({ scope });
    };

    const a1 = [await stream(path("ta"), KEYS.a1), await stream(path("ta"), KEYS.a1)];
    a1.forEach((s) => expect(s.status).toBe(200));
    refused(await stream(path("ta"), KEYS.a1), "principal");
    const a2 = await stream(path("ta"), KEYS.a2);
    expect(a2.status).toBe(200);
    refused(await stream(path("ta"), KEYS.a2), "tenant");
    const b = await stream(path("tb"), KEYS.b);
    expect(b.status).toBe(200);
    refused(await stream(path("tc"), KEYS.c), "server");

    // A closed stream frees its place.
    a1[0]!.close();
    await a1[0]!.ended;
    let again: OpenStream | undefined;
    await waitUntil(
      "a stream opened again",
      async () => {
        again = await stream(path("ta"), KEYS.a1);
        return again.status === 200;
      },
      { timeoutMs: 30_000 },
    );
    again!.close();
    for (const s of [...a1, a2, b]) s.close();
  });
});

describe("StreamHub: a per-saga index, not a scan", () => {
  const state = (tenantId: string, id: string) => ({ tenantId, id, seq: 1 }) as SagaState;
  const started = [{ type: "SagaStarted" }] as unknown as SagaEvent[];

  it("a commit reaches only the streams of its saga and tenant", () => {
    const hub = new StreamHub({ perPrincipal: 10_000, perTenant: 10_000, total: 10_000 });
    const calls = new Map<string, number>();
    const subscriber = (name: string): StreamSubscriber => ({
      onCommitted: () => calls.set(name, (calls.get(name) ?? 0) + 1),
      end: () => undefined,
    });
    for (let i = 0; i < 2000; i++) hub.open("t1", `p${i % 50}`, `saga-${i}`, subscriber(`s${i}`));
    hub.open("t1", "p0", "saga-7", subscriber("s7-second"));
    hub.open("t2", "p0", "saga-7", subscriber("other-tenant-s7"));
    hub.listener(state("t1", "saga-7"), started);
    expect(Object.fromEntries(calls)).toEqual({ s7: 1, "s7-second": 1 });
    expect(hub.subscribersOf("t1", "saga-7")).toBe(2);
  });

  it("releases counts and index entries; a refused stream is not counted", () => {
    const hub = new StreamHub({ perPrincipal: 1, perTenant: 5, total: 5 });
    const sub: StreamSubscriber = { onCommitted: () => undefined, end: () => undefined };
    const lease = hub.open("t", "p", "s", sub);
    expect(() => hub.open("t", "p", "s", sub)).toThrow(HttpError);
    expect(hub.size).toBe(1);
    lease.release();
    lease.release(); // twice is harmless
    expect(hub.size).toBe(0);
    expect(hub.subscribersOf("t", "s")).toBe(0);
    hub.open("t", "p", "s", sub);
    expect(hub.size).toBe(1);
  });

  it("endAll ends every open stream", () => {
    const hub = new StreamHub({ perPrincipal: 10, perTenant: 10, total: 10 });
    let ended = 0;
    for (let i = 0; i < 3; i++) {
      const lease = hub.open("t", `p${i}`, `s${i}`, {
        onCommitted: () => undefined,
        end: () => {
          ended++;
          lease.release();
        },
      });
    }
    hub.endAll();
    expect(ended).toBe(3);
    expect(hub.size).toBe(0);
  });
});
