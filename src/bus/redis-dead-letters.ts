import type { RedisClient } from "./redis-connection.js";
import type { DeadLetterAdmin, DeadLetterView } from "../engine/dead-letter-port.js";
import { tenantOf } from "../engine/dead-letter-port.js";
import { assertExecOk, toDeadLetter, type StreamKeys } from "./redis-commands.js";
import { parseEntries, type StreamEntry } from "./redis-replies.js";

const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;
/** Entries read per XRANGE while looking for one tenant's letters, and at most per request. */
const CHUNK = 200;
const MAX_SCAN = 5_000;

/** Dead letters on the Redis dead-letter stream (entries as moveToDeadLetters wrote them). */
export class RedisDeadLetters implements DeadLetterAdmin {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: StreamKeys,
  ) {}

  async list(
    tenantId: string,
    options: { after?: string; limit: number },
  ): Promise<{ items: DeadLetterView[]; next: string | null }> {
    const items: DeadLetterView[] = [];
    let start = options.after && ENTRY_ID.test(options.after) ? `(${options.after}` : "-";
    let scanned = 0;
    for (;;) {
      const entries = await this.range(start, "+", CHUNK);
      for (const entry of entries) {
        scanned++;
        const view = toView(entry);
        if (tenantOf(view) === tenantId) items.push(view);
        if (items.length >= options.limit) return { items, next: entry.id };
      }
      if (entries.length < CHUNK) return { items, next: null };
      const last = entries[entries.length - 1]!.id;
      // Bounded work per request: the cursor tells the caller where to go on.
      if (scanned >= MAX_SCAN) return { items, next: last };
      start = `(${last}`;
    }
  }

  async get(tenantId: string, id: string): Promise<DeadLetterView | null> {
    if (!ENTRY_ID.test(id)) return null;
    const [entry] = await this.range(id, id, 1);
    if (!entry) return null;
    const view = toView(entry);
    return tenantOf(view) === tenantId ? view : null;
  }

  async redrive(
    tenantId: string,
    ids: readonly string[],
  ): Promise<{ redriven: string[]; skipped: string[] }> {
    const redriven: string[] = [];
    const skipped: string[] = [];
    for (const id of ids) {
      if (!ENTRY_ID.test(id)) {
        skipped.push(id);
        continue;
      }
      const [entry] = await this.range(id, id, 1);
      const view = entry ? toView(entry) : null;
      if (!entry || !view || view.message === null || tenantOf(view) !== tenantId) {
        skipped.push(id);
        continue;
      }
      const fields = Object.entries(entry.fields ?? {})
        .filter(([name]) => !name.startsWith("dead_"))
        .flat();
      const results = await this.redis
        .multi()
        .xadd(this.keys.stream, "MAXLEN", "~", this.keys.maxLength, "*", ...fields)
        .xdel(this.keys.deadLetterStream, id)
        .exec();
      assertExecOk(results, "redrive");
      redriven.push(id);
    }
    return { redriven, skipped };
  }

  async purge(tenantId: string, ids: readonly string[] | "all"): Promise<number> {
    let removed = 0;
    if (ids === "all") {
      let after: string | undefined;
      do {
        const page = await this.list(tenantId, { limit: CHUNK, ...(after ? { after } : {}) });
        if (page.items.length > 0)
          removed += Number(
            await this.redis.xdel(this.keys.deadLetterStream, ...page.items.map((i) => i.id)),
          );
        after = page.next ?? undefined;
      } while (after);
      return removed;
    }
    for (const id of ids) {
      if (!(await this.get(tenantId, id))) continue;
      removed += Number(await this.redis.xdel(this.keys.deadLetterStream, id));
    }
    return removed;
  }

  private async range(start: string, end: string, count: number): Promise<StreamEntry[]> {
    const reply = await this.redis.call("XRANGE", [
      this.keys.deadLetterStream,
      start,
      end,
      "COUNT",
      count,
    ]);
    return parseEntries(reply);
  }
}

function toView(entry: StreamEntry): DeadLetterView {
  const letter = toDeadLetter(entry);
  return {
    id: entry.id,
    message: letter.message,
    ...(letter.raw ? { raw: letter.raw } : {}),
    group: letter.group,
    consumer: letter.consumer,
    deliveries: letter.deliveries,
    error: letter.error,
    deadAt: letter.deadAt,
  };
}
