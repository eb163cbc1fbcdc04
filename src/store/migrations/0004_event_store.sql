-- Domain events appended through the Events API (`POST /events/publish`): one stream per
-- (tenant, stream_id), numbered 1..n; the unique key is the optimistic-concurrency guard.
-- global_position orders a tenant's events; tx_id is the writer's transaction, so that a reader of
-- the whole log stops before rows of transactions newer than the oldest open writer of this table:
-- a bigserial read in order would otherwise skip a row whose transaction commits late.
CREATE TABLE event_store (
  global_position bigserial   PRIMARY KEY,
  tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
  tenant_id       text        NOT NULL,
  stream_id       text        NOT NULL,
  stream_version  integer     NOT NULL,
  event_id        uuid        NOT NULL UNIQUE,
  type            text        NOT NULL,
  data            jsonb       NOT NULL,
  metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, stream_id, stream_version)
);

-- Reading a tenant's log by position, and finding its rows written by transactions still open.
CREATE INDEX event_store_tenant_position ON event_store (tenant_id, global_position);
CREATE INDEX event_store_tenant_tx ON event_store (tenant_id, tx_id);
CREATE INDEX event_store_tenant_type ON event_store (tenant_id, type);
