import { ensureError } from "../core/errors.js";
import { cappedBackoff } from "../core/retry.js";
import type { BusMessage, EventBus } from "../engine/bus-port.js";
import { type Logger, silentLogger } from "../engine/logger.js";
import { LoopPause } from "../engine/pause.js";
import type { OutboxRow, Store } from "../engine/store-port.js";
import { validMessage } from "./message-codec.js";

export interface OutboxRelayOptions {
  store: Pick<Store, "relayOutbox">;
  bus: Pick<EventBus, "publish">;
  /** Rows per batch (one transaction, one publish). Default 200. */
  batchSize?: number;
  /** Pause after a pass that found nothing (or fewer rows than a batch). Default 150 ms. */
  idleMs?: number;
  /** Pause while another process holds the relay lock. Default 500 ms. */
  standbyMs?: number;
  /** Longest pause after failures (bus or database down); doubled per failure from 100 ms. Default 5 s. */
  maxBackoffMs?: number;
  logger?: Logger;
}

/**
 * Sends the transactional outbox to the bus: a loop of batches, each read in position order under
 * the store's advisory lock (one relay at a time across processes), published, and deleted only
 * once the bus has accepted it. A relay that dies between publish and delete sends the batch
 * again: consumers see duplicates with the same ids, never a gap. Per saga (and per event stream)
 * the order is the commit order.
 *
 * @example
 * const relay = new OutboxRelay({ store, bus, logger });
 * relay.start();
 * // ...
 * await relay.stop();
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly idleMs: number;
  private readonly standbyMs: number;
  private readonly maxBackoffMs: number;
  private readonly logger: Logger;
  private running: Promise<void> | null = null;
  private stopping = false;
  private readonly pause = new LoopPause();
  private failures = 0;
  private sentTotal = 0;
  private lastError: string | null = null;

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 200;
    this.idleMs = options.idleMs ?? 150;
    this.standbyMs = options.standbyMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.logger = options.logger ?? silentLogger;
  }

  /** Starts the loop (once). */
  start(): void {
    if (this.running || this.stopping) return;
    this.running = this.loop();
  }

  /** Runs the next pass now instead of after the pause (e.g. right after a commit). */
  nudge(): void {
    this.pause.nudge();
  }

  /** Finishes the batch in hand (published and deleted, or rolled back), then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.pause.nudge();
    await this.running;
  }

  /** Rows sent since start, and the last failure (null once a pass succeeds), for health reports. */
  get status(): { sent: number; lastError: string | null } {
    return { sent: this.sentTotal, lastError: this.lastError };
  }

  /**
   * One batch: the number of rows sent, 0 when the outbox is empty, -1 when another process holds
   * the relay. Throws when the bus or the database failed (nothing was deleted then).
   */
  async relayOnce(): Promise<number> {
    const sent = await this.options.store.relayOutbox(this.batchSize, (rows) => this.send(rows));
    if (sent > 0) this.sentTotal += sent;
    return sent;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let pauseMs: number;
      try {
        const sent = await this.relayOnce();
        this.failures = 0;
        this.lastError = null;
        pauseMs = sent === -1 ? this.standbyMs : sent >= this.batchSize ? 0 : this.idleMs;
      } catch (thrown) {
        const err = ensureError(thrown);
        this.failures++;
        this.lastError = err.message;
        pauseMs = cappedBackoff(this.failures, { baseMs: 100, maxMs: this.maxBackoffMs });
        this.logger.warn(
          { err, failures: this.failures, retryInMs: pauseMs },
          "outbox relay failed; the rows stay in the outbox and are sent again",
        );
      }
      if (pauseMs > 0 && !this.stopping) await this.pause.sleep(pauseMs);
    }
  }

  private async send(rows: OutboxRow[]): Promise<void> {
    const messages: BusMessage[] = [];
    for (const row of rows) {
      const message = toBusMessage(row);
      try {
        messages.push(validMessage(message));
      } catch (error) {
        // A row the bus can never accept would block every row behind it: it is dropped, loudly.
        this.logger.error(
          { err: ensureError(error), row },
          "outbox row is not a valid bus message; dropped",
        );
      }
    }
    if (messages.length > 0) await this.options.bus.publish(messages);
  }
}

/** The bus message of an outbox row: its event id, key, data, tenant, time and headers. */
export function toBusMessage(row: OutboxRow): BusMessage {
  const message: BusMessage = {
    id: row.eventId,
    type: row.type,
    tenantId: row.tenantId,
    key: row.key,
    data: row.data,
    occurredAt: row.createdAt,
  };
  if (Object.keys(row.headers).length > 0) message.headers = row.headers;
  return message;
}
