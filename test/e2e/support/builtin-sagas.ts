// The built-in saga definitions (definitions/*.yaml) compiled for given service URLs and secrets,
// for tests that run them on an orchestrator of their own (the service loads the folder itself).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import {
  compileDefinition,
  type CompiledDefinition,
} from "../../../src/definitions/format/compile.js";
import type { SecretSource } from "../../../src/steps/http/secrets.js";
import { createSsrfGuard } from "../../../src/steps/http/ssrf-guard.js";

export const DEFINITIONS_DIR = fileURLToPath(new URL("../../../definitions/", import.meta.url));

export const BUILTIN_SAGAS = [
  "user_onboarding",
  "airtable_integration",
  "workflow_execution",
] as const;
export type BuiltinSaga = (typeof BUILTIN_SAGAS)[number];

/** The parsed documents of definitions/*.yaml, by file name order. */
export function builtinDocuments(dir: string = DEFINITIONS_DIR): unknown[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => parse(readFileSync(join(dir, f), "utf8")) as unknown);
}

/**
 * Compiles the built-in definitions: their http steps may reach exactly `serviceUrls` (the SSRF
 * guard allows those hosts and ports) and resolve `{{secrets.NAME}}` through `secrets`.
 */
export function compileBuiltinSagas(options: {
  serviceUrls: Readonly<Record<string, string>>;
  secrets: SecretSource;
}): CompiledDefinition[] {
  const documents = builtinDocuments();
  const names = documents.map((d) => (d as { name?: unknown }).name);
  return documents.map((doc) =>
    compileDefinition(doc, {
      http: {
        serviceUrls: options.serviceUrls,
        secrets: options.secrets,
        transport: { guard: createSsrfGuard({ serviceUrls: Object.values(options.serviceUrls) }) },
      },
      knownSaga: (name) => names.includes(name),
      childrenOf: () => [],
      platform: true,
    }),
  );
}
