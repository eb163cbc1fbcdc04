import type { DeadLetterAdmin, DeadLetterView } from "../engine/dead-letter-port.js";
import { tenantOf } from "../engine/dead-letter-port.js";
import type { DeadLetter } from "./dead-letter.js";
import type { InProcessBus } from "./in-process-bus.js";

/** Dead letters of the in-process bus (embedded mode; gone on restart like the bus itself). */
export class InProcessDeadLetters implements DeadLetterAdmin {
  private readonly ids = new WeakMap<DeadLetter, string>();
  private seq = 0;

  constructor(private readonly bus: InProcessBus) {}

  list(
    tenantId: string,
    options: { after?: string; limit: number },
  ): Promise<{ items: DeadLetterView[]; next: string | null }> {
    const after = options.after ? Number(options.after.split("-")[0]) : 0;
    const mine = this.views().filter(
      (v) => tenantOf(v) === tenantId && Number(v.id.split("-")[0]) > after,
    );
    const items = mine.slice(0, options.limit);
    const next = mine.length > options.limit ? items[items.length - 1]!.id : null;
    return Promise.resolve({ items, next });
  }

  get(tenantId: string, id: string): Promise<DeadLetterView | null> {
    const view = this.views().find((v) => v.id === id);
    return Promise.resolve(view && tenantOf(view) === tenantId ? view : null);
  }

  async redrive(
    tenantId: string,
    ids: readonly string[],
  ): Promise<{ redriven: string[]; skipped: string[] }> {
    const redriven: string[] = [];
    const skipped: string[] = [];
    for (const id of ids) {
      const letter = this.find(tenantId, id);
      if (!letter?.message) {
        skipped.push(id);
        continue;
      }
      await this.bus.publish([letter.message]);
      this.remove(letter);
      redriven.push(id);
    }
    return { redriven, skipped };
  }

  purge(tenantId: string, ids: readonly string[] | "all"): Promise<number> {
    const doomed =
      ids === "all"
        ? this.bus.deadLetters.filter((l) => tenantOf(l) === tenantId)
        : ids.map((id) => this.find(tenantId, id)).filter((l): l is DeadLetter => l !== null);
    for (const letter of doomed) this.remove(letter);
    return Promise.resolve(doomed.length);
  }

  private find(tenantId: string, id: string): DeadLetter | null {
    const letter = this.bus.deadLetters.find((l) => this.idOf(l) === id);
    return letter && tenantOf(letter) === tenantId ? letter : null;
  }

  private remove(letter: DeadLetter): void {
    const at = this.bus.deadLetters.indexOf(letter);
    if (at >= 0) this.bus.deadLetters.splice(at, 1);
  }

  private idOf(letter: DeadLetter): string {
    let id = this.ids.get(letter);
    if (!id) {
      id = `${++this.seq}-0`;
      this.ids.set(letter, id);
    }
    return id;
  }

  private views(): DeadLetterView[] {
    return this.bus.deadLetters.map((l) => ({
      id: this.idOf(l),
      message: l.message,
      ...(l.raw ? { raw: l.raw } : {}),
      group: l.group,
      consumer: l.consumer,
      deliveries: l.deliveries,
      error: l.error,
      deadAt: l.deadAt,
    }));
  }
}
