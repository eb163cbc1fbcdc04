/** Whether more than $1 bytes of WAL were written since the redo point of the last checkpoint. */
export const CHECKPOINT_DUE = `
SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), redo_lsn) > $1 AS due
FROM pg_control_checkpoint()`;
