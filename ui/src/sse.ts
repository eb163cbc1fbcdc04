import { authHeaders } from "./api.js";

export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/**
 * Reads a Server-Sent Events stream with fetch (EventSource cannot send an API key), resuming with
 * Last-Event-ID when the connection drops, until the server ends it or `signal` aborts.
 */
export async function readSse(
  url: string,
  onMessage: (m: SseMessage) => void,
  signal: AbortSignal,
  onState: (state: "open" | "retrying" | "ended") => void = () => undefined,
  /** Resume after this event id (Last-Event-ID). */
  after: string | null = null,
): Promise<void> {
  let lastId = after;
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      const response = await fetch(url, {
        headers: {
          accept: "text/event-stream",
          ...authHeaders(),
          ...(lastId ? { "last-event-id": lastId } : {}),
        },
        signal,
      });
      if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
      onState("open");
      attempt = 0;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message: SseMessage = { id: null, event: "message", data: "" };
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const v = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "id") message.id = v;
            else if (field === "event") message.event = v;
            else if (field === "data") data.push(v);
          }
          if (data.length === 0) continue;
          message.data = data.join("\n");
          if (message.id) lastId = message.id;
          onMessage(message);
        }
      }
      onState("ended");
      return; // the server ends the stream when the saga ends
    } catch {
      if (signal.aborted) return;
      onState("retrying");
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
    }
  }
}
