import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ServiceConfig } from "./config/config.js";
import { DefinitionCatalog } from "./definitions/catalog.js";
import type { Logger } from "./engine/logger.js";
import type { Orchestrator } from "./engine/orchestrator.js";
import type { Store } from "./engine/store-port.js";
import type { SagaDefaults } from "./definitions/demo-order.js";
import { createSsrfGuard } from "./steps/http/ssrf-guard.js";
import { createSecretCipher, parseSecretsKey } from "./steps/secrets/cipher.js";
import { loadPlatformSecrets } from "./steps/secrets/platform-secrets.js";
import { TenantSecrets } from "./steps/secrets/tenant-secrets.js";
import { sqlClientOf } from "./store/sql-client-of.js";
import { SqlSecretStore } from "./store/sql-secret-store.js";

/** The built-in sagas (user_onboarding, airtable_integration, workflow_execution) ship here. */
export const BUILTIN_DEFINITIONS_DIR = fileURLToPath(new URL("../definitions/", import.meta.url));
const REFRESH_MS = 10_000;

/** Defaults the service applies to its sagas (SAGA_TIMEOUT_SECONDS, SAGA_RETRY_ATTEMPTS, …). */
export function sagaDefaults(config: ServiceConfig): SagaDefaults {
  return {
    ...(config.sagaTimeoutSeconds ? { timeoutMs: config.sagaTimeoutSeconds * 1000 } : {}),
    ...(config.sagaStepTimeoutSeconds
      ? { stepTimeoutMs: config.sagaStepTimeoutSeconds * 1000 }
      : {}),
    retry: {
      maxAttempts: config.sagaRetryAttempts,
      ...(config.sagaRetryDelaySeconds
        ? { initialDelayMs: config.sagaRetryDelaySeconds * 1000 }
        : {}),
    },
  };
}

export interface ServiceDefinitions {
  catalog: DefinitionCatalog;
  /** Tenant secrets (PUT/DELETE/GET /secrets); null when the store is not a SQL store. */
  secrets: TenantSecrets | null;
  stop(): void;
}

/**
 * Declarative sagas in the service: http steps reach only the configured services (plus the
 * allowlist); platform secrets come from SAGA_SECRETS_FILE / SAGA_SECRETS_DIR (never the
 * environment) and serve only the built-in and SAGA_DEFINITIONS_DIR definitions; tenant secrets
 * come from the store, per tenant; the built-in and SAGA_DEFINITIONS_DIR definitions load at
 * start-up, and definitions other processes register are picked up every few seconds.
 */
export async function setupDefinitions(deps: {
  config: ServiceConfig;
  store: Store;
  orchestrator: Orchestrator;
  logger: Logger;
  builtinDir?: string | null;
}): Promise<ServiceDefinitions> {
  const { config } = deps;
  const platform = await loadPlatformSecrets({ file: config.secretsFile, dir: config.secretsDir });
  const client = sqlClientOf(deps.store);
  const tenantSecrets = client
    ? new TenantSecrets(
        new SqlSecretStore(client),
        createSecretCipher(config.secretsKey ? parseSecretsKey(config.secretsKey) : null),
      )
    : null;
  if (tenantSecrets && !tenantSecrets.encrypted)
    deps.logger.warn(
      {},
      "SAGA_SECRETS_KEY is not set: tenant secrets are stored unencrypted in the database",
    );
  const catalog = new DefinitionCatalog(
    deps.orchestrator,
    deps.store,
    {
      http: {
        serviceUrls: config.serviceUrls,
        secrets: platform.source,
        ...(tenantSecrets ? { tenantSecrets: tenantSecrets.source } : {}),
        transport: {
          guard: createSsrfGuard({
            serviceUrls: Object.values(config.serviceUrls),
            allow: config.httpAllowlist,
          }),
        },
      },
      defaults: sagaDefaults(config),
    },
    deps.logger,
  );
  const builtin = deps.builtinDir === undefined ? BUILTIN_DEFINITIONS_DIR : deps.builtinDir;
  if (builtin && existsSync(builtin)) await catalog.loadDirectory(builtin);
  if (config.definitionsDir) await catalog.loadDirectory(config.definitionsDir);
  await catalog.refresh();
  const timer = setInterval(() => {
    catalog
      .refresh()
      .catch((error: unknown) => deps.logger.warn({ err: error }, "refreshing definitions failed"));
  }, REFRESH_MS);
  timer.unref();
  return { catalog, secrets: tenantSecrets, stop: () => clearInterval(timer) };
}
