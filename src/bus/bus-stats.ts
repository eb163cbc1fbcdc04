/** What a bus reports for metrics: dead letters kept, and per consumer group what is left. */
export interface BusStats {
  /** Entries on the dead-letter stream (or list, in process). */
  deadLetters: number;
  groups: {
    group: string;
    /** Delivered to a member, not yet acknowledged. */
    pending: number;
    /** Published but not yet delivered to the group (null when Redis cannot tell). */
    lag: number | null;
  }[];
}
