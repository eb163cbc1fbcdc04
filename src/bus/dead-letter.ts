import type { BusMessage } from "../engine/bus-port.js";

/** A message a group gave up on: delivered `maxDeliveries` times without success, or undecodable. */
export interface DeadLetter {
  /** The message as published; null when the stream entry could not be decoded. */
  message: BusMessage | null;
  /** The stream entry's fields as stored (Redis only), to inspect an undecodable entry. */
  raw?: Record<string, string>;
  /** The entry's id on the source stream (Redis only). */
  sourceId?: string;
  group: string;
  /** The member that moved it. */
  consumer: string;
  /** Deliveries made (handler calls, plus deliveries to members that died). */
  deliveries: number;
  /** The handler's last error message, or why the entry could not be decoded. */
  error: string;
  /** Epoch milliseconds when it was moved. */
  deadAt: number;
}
