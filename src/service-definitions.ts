import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ServiceConfig } from "./config/config.js";
import { DefinitionCatalog } from "./definitions/catalog.js";
import type { Logger } from "./engine/logger.js";
import type { Orchestrator } from "./engine/orchestrator.js";
import type { Store } from "./engine/store-port.js";
import type { SagaDefaults } from "./definitions/demo-order.js";
import { createSsrfGuard } from "./steps/http/ssrf-guard.js";

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
  stop(): void;
}

/**
 * Declarative sagas in the service: http steps reach only the configured services (plus the
 * allowlist), secrets come from SAGA_SECRETS_FILE or the environment at dispatch, the built-in
 * and SAGA_DEFINITIONS_DIR definitions load at start-up, and definitions other processes
 * register are picked up every few seconds.
 */
export async function setupDefinitions(deps: {
  config: ServiceConfig;
  store: Store;
  orchestrator: Orchestrator;
  logger: Logger;
  builtinDir?: string | null;
}): Promise<ServiceDefinitions> {
  const { config } = deps;
  const secretsFile = config.secretsFile;
  let secrets: Record<string, string> | null = null;
  const catalog = new DefinitionCatalog(
    deps.orchestrator.registry,
    deps.store,
    {
      http: {
        serviceUrls: config.serviceUrls,
        secrets: async (name) => {
          if (!secretsFile) return process.env[name];
          secrets ??= JSON.parse(await readFile(secretsFile, "utf8")) as Record<string, string>;
          return secrets[name];
        },
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
  return { catalog, stop: () => clearInterval(timer) };
}
