-- Room on each page for the new version of a row, so that a checkpoint that changes no indexed
-- column (the common case while a saga runs: status and next_run_at stay put) is a HOT update:
-- no index is touched, much less WAL.
ALTER TABLE saga_instances SET (fillfactor = 70);
