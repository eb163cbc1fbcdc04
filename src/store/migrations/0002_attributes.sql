-- Business keys (e.g. orderId) a definition records at start, for filtering the saga list.
ALTER TABLE saga_instances ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}'::jsonb;
CREATE INDEX saga_instances_attributes ON saga_instances USING gin (attributes jsonb_path_ops);
-- Listing a tenant's sagas newest first, whatever their status (cursor = created_at, id).
CREATE INDEX saga_instances_tenant_created ON saga_instances (tenant_id, created_at DESC, id DESC);
