-- Saga definitions registered as data (POST /definitions), per tenant and version. The document
-- is the JSON the user sent; a version never changes once registered.
CREATE TABLE saga_definitions (
  tenant_id  text        NOT NULL,
  name       text        NOT NULL,
  version    integer     NOT NULL,
  document   jsonb       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name, version)
);
