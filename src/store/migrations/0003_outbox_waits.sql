-- Transactional outbox: rows written in the same transaction as a saga's state, sent to the
-- bus by one relay at a time (advisory lock), then deleted. Duplicates (a relay that dies
-- after sending, before deleting) carry the same event_id.
CREATE TABLE saga_outbox (
  position   bigserial   PRIMARY KEY,
  event_id   uuid        NOT NULL,
  tenant_id  text        NOT NULL,
  type       text        NOT NULL,
  key        text,
  data       jsonb       NOT NULL,
  headers    jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Suspended steps waiting for an event: type (topic), where to look in it, and the value.
CREATE TABLE saga_waits (
  saga_id    uuid        NOT NULL,
  step       text        NOT NULL,
  tenant_id  text        NOT NULL,
  topic      text        NOT NULL,
  match_path text        NOT NULL,
  match_key  text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (saga_id, step)
);
CREATE INDEX saga_waits_match ON saga_waits (tenant_id, topic, match_key);

-- Deliveries to suspended steps (matching events, ends of child sagas), consumed by the commit
-- that resumes the step.
CREATE TABLE saga_inbox (
  id         uuid        PRIMARY KEY,
  saga_id    uuid        NOT NULL,
  step       text        NOT NULL,
  payload    jsonb       NOT NULL,
  error      jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX saga_inbox_saga ON saga_inbox (saga_id);
