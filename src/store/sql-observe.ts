import type { SqlClient } from "./sql-client.js";
import { COUNT_WAITING, OUTBOX_STATS } from "./sql/observe.js";

/** Scrape-time readings of a SQL store for metrics (a small port of its own, read-only). */
export interface StoreReadings {
  countWaiting: () => Promise<{ name: string; count: number }[]>;
  outbox: () => Promise<{ pending: number; oldestAgeSeconds: number }>;
}

export function sqlStoreReadings(client: SqlClient): StoreReadings {
  return {
    countWaiting: () => client.query<{ name: string; count: number }>(COUNT_WAITING),
    async outbox() {
      const [row] = await client.query<{ pending: number; age: number }>(OUTBOX_STATS);
      return { pending: row?.pending ?? 0, oldestAgeSeconds: Math.max(0, Number(row?.age ?? 0)) };
    },
  };
}
