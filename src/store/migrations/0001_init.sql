-- Saga instances: the projection (read model) of each saga's event stream, plus the lease
-- and timer columns that make the table the work queue.
CREATE TABLE saga_instances (
  id               uuid PRIMARY KEY,
  tenant_id        text        NOT NULL,
  name             text        NOT NULL,
  version          integer     NOT NULL,
  status           text        NOT NULL,
  stream_version   integer     NOT NULL,
  state            jsonb       NOT NULL,
  idempotency_key  text,
  next_run_at      timestamptz,
  lease_owner      text,
  lease_epoch      bigint      NOT NULL DEFAULT 0,
  lease_expires_at timestamptz,
  cancel_requested boolean     NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- One saga per (tenant, idempotency key).
CREATE UNIQUE INDEX saga_instances_idempotency
  ON saga_instances (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Due work: only active sagas (and cancel requests) carry a next_run_at.
CREATE INDEX saga_instances_due ON saga_instances (next_run_at) WHERE next_run_at IS NOT NULL;

-- Listing by tenant and status, newest first.
CREATE INDEX saga_instances_tenant_status ON saga_instances (tenant_id, status, created_at DESC);

-- The event streams: one row per event, numbered 1..n per saga. The primary key is the
-- optimistic-concurrency guard: two writers cannot both append event n.
CREATE TABLE saga_events (
  saga_id    uuid        NOT NULL,
  seq        integer     NOT NULL,
  type       text        NOT NULL,
  data       jsonb       NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (saga_id, seq)
);
