-- Audit trail: who (principal, tenant, role), from where (address, user agent) and what (action,
-- the saga or definition it touched, the answer's status). Written by the API, read by GET /audit.
CREATE TABLE saga_audit (
  id         bigserial   PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  tenant_id  text        NOT NULL,
  actor      text        NOT NULL,
  role       text        NOT NULL,
  via        text        NOT NULL,
  address    text,
  user_agent text,
  action     text        NOT NULL,
  saga_id    uuid,
  target     text,
  status     integer     NOT NULL,
  details    jsonb       NOT NULL DEFAULT '{}'::jsonb
);
-- GET /audit: a tenant's rows newest first, by actor, by saga; retention: by time.
CREATE INDEX saga_audit_tenant_at ON saga_audit (tenant_id, at DESC, id DESC);
CREATE INDEX saga_audit_tenant_actor ON saga_audit (tenant_id, actor, at DESC);
CREATE INDEX saga_audit_tenant_saga ON saga_audit (tenant_id, saga_id) WHERE saga_id IS NOT NULL;
CREATE INDEX saga_audit_at ON saga_audit (at);

-- Time filters of GET /sagas (updated_at ranges) and retention of finished sagas.
CREATE INDEX saga_instances_tenant_updated ON saga_instances (tenant_id, updated_at DESC, id DESC);
CREATE INDEX saga_instances_finished ON saga_instances (updated_at)
  WHERE status IN ('completed', 'compensated');
