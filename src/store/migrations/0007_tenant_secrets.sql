-- Secrets a tenant writes through PUT /secrets/{name} (or `saga secrets set`), used by its
-- definitions as {{tenant_secrets.NAME}} at dispatch. `sealed` is AES-256-GCM ciphertext
-- ("v1." prefix, bound to tenant and name) when SAGA_SECRETS_KEY is set, else "plain." + value.
-- No API read returns it.
CREATE TABLE saga_tenant_secrets (
  tenant_id  text        NOT NULL,
  name       text        NOT NULL,
  sealed     text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);
