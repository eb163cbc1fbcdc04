import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { ErrorCodes, SagaError } from "../core/errors.js";
import type { Json } from "../core/json.js";
import type { Logger } from "../engine/logger.js";
import type { DefinitionLookup } from "../engine/registry.js";
import type { SagaDefinition } from "../engine/definition.js";
import type { Store } from "../engine/store-port.js";
import {
  compileDefinition,
  type CompileOptions,
  type CompiledDefinition,
} from "./format/compile.js";

export type CatalogCompileOptions = Omit<CompileOptions, "knownSaga" | "childrenOf">;

export interface RegisteredDefinition {
  tenantId: string | null;
  name: string;
  version: number;
  document: Json;
}

/**
 * Sagas declared as data: loaded from files at start-up (global), or registered by a tenant
 * through the API (stored, then compiled on every process that runs them). One engine: every
 * document compiles to the same definition type as a TypeScript saga.
 */
/** Where the catalog puts what it compiles (an Orchestrator): it reads and adds definitions. */
export interface DefinitionTarget {
  readonly definitions: DefinitionLookup;
  register(definition: SagaDefinition<never, never>, tenantId?: string): void;
}

export class DefinitionCatalog {
  private readonly documents = new Map<string, RegisteredDefinition>();

  constructor(
    private readonly target: DefinitionTarget,
    private readonly store: Store,
    private readonly compile: CatalogCompileOptions,
    private readonly logger: Logger,
  ) {}

  /** Compiles and registers (for everyone) the `.json`, `.yaml` and `.yml` files of a folder. */
  async loadDirectory(dir: string): Promise<CompiledDefinition[]> {
    const files = (await readdir(dir)).filter((f) => /\.(json|ya?ml)$/i.test(f)).sort();
    const docs = await Promise.all(
      files.map(async (f) => ({
        file: f,
        doc: parseDocument(await readFile(join(dir, f), "utf8"), f),
      })),
    );
    // Children first, so that a parent may name them.
    const compiled: CompiledDefinition[] = [];
    const pending = [...docs];
    for (let round = 0; pending.length > 0 && round <= docs.length; round++) {
      for (const item of [...pending]) {
        const children = childNames(item.doc);
        if (children.some((c) => !this.knows(c, null) && pending.some((p) => nameOf(p.doc) === c)))
          continue;
        const definition = this.compileFor(item.doc, null);
        this.target.register(definition);
        this.remember(null, item.doc);
        compiled.push(definition);
        pending.splice(pending.indexOf(item), 1);
      }
    }
    if (pending.length > 0) this.compileFor(pending[0]!.doc, null); // throws the real problem
    this.logger.info(
      { dir, definitions: compiled.map((d) => `${d.name}@${d.version}`) },
      "saga definitions loaded",
    );
    return compiled;
  }

  /**
   * Registers a tenant's definition. Returns "created", or "unchanged" for the same content again;
   * throws SAGA_INVALID_DEFINITION (400, every problem) or SAGA_DEFINITION_CONFLICT (409) when the
   * version exists with other content.
   */
  async register(
    tenantId: string,
    raw: unknown,
  ): Promise<{ outcome: "created" | "unchanged"; definition: RegisteredDefinition }> {
    const definition = this.compileFor(raw, tenantId);
    const document = raw as Json;
    const global = this.documents.get(key(null, definition.name, definition.version));
    if (global && !sameJson(global.document, document)) {
      throw conflict(
        definition.name,
        definition.version,
        "a built-in definition has this name and version",
      );
    }
    const saved = await this.store.saveDefinition({
      tenantId,
      name: definition.name,
      version: definition.version,
      document,
    });
    if (!saved.created && !sameJson(saved.document, document)) {
      throw conflict(
        definition.name,
        definition.version,
        "it is registered with other content; register a new version",
      );
    }
    // (A global definition with the same content already serves this tenant.)
    if (!this.target.definitions.has(definition.name, definition.version, tenantId)) {
      this.target.register(definition, tenantId);
    }
    const entry = this.remember(tenantId, document);
    return { outcome: saved.created ? "created" : "unchanged", definition: entry };
  }

  /** Compiles definitions other processes registered since (call at start-up and periodically). */
  async refresh(): Promise<void> {
    for (const stored of await this.store.listDefinitions(null)) {
      if (this.documents.has(key(stored.tenantId, stored.name, stored.version))) continue;
      try {
        const definition = this.compileFor(stored.document, stored.tenantId);
        if (!this.target.definitions.has(stored.name, stored.version, stored.tenantId)) {
          this.target.register(definition, stored.tenantId);
        }
        this.remember(stored.tenantId, stored.document);
      } catch (error) {
        this.logger.warn(
          { tenantId: stored.tenantId, name: stored.name, version: stored.version, err: error },
          "a stored definition no longer compiles here; skipped",
        );
      }
    }
  }

  /** The definitions a tenant sees as data: the global ones and its own. */
  list(tenantId: string): RegisteredDefinition[] {
    return [...this.documents.values()]
      .filter((d) => d.tenantId === null || d.tenantId === tenantId)
      .sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
  }

  private compileFor(raw: unknown, tenantId: string | null): CompiledDefinition {
    return compileDefinition(raw, {
      ...this.compile,
      // Only the platform's own definitions (built-in, operator folder) may use platform secrets.
      platform: tenantId === null,
      knownSaga: (name) => this.knows(name, tenantId),
      childrenOf: (name) => {
        const docs = [...this.documents.values()].filter(
          (d) => d.name === name && (d.tenantId === null || d.tenantId === tenantId),
        );
        return [...new Set(docs.flatMap((d) => childNames(d.document)))];
      },
    });
  }

  private knows(name: string, tenantId: string | null): boolean {
    return this.target.definitions.all(tenantId ?? undefined).some((d) => d.name === name);
  }

  private remember(tenantId: string | null, document: unknown): RegisteredDefinition {
    const entry = {
      tenantId,
      name: nameOf(document),
      version: Number((document as { version?: unknown }).version),
      document: document as Json,
    };
    this.documents.set(key(tenantId, entry.name, entry.version), entry);
    return entry;
  }
}

function parseDocument(text: string, file: string): unknown {
  try {
    return /\.json$/i.test(file) ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
  } catch (error) {
    throw new SagaError(
      ErrorCodes.INVALID_DEFINITION,
      `${file} is not valid ${/\.json$/i.test(file) ? "JSON" : "YAML"}: ${(error as Error).message}`,
      {
        retryable: false,
      },
    );
  }
}

const nameOf = (doc: unknown): string => {
  const name = (doc as { name?: unknown } | null)?.name;
  return typeof name === "string" ? name : "";
};
const key = (tenantId: string | null, name: string, version: number) =>
  `${tenantId ?? "*"}\u0000${name}\u0000${version}`;
const sameJson = (a: unknown, b: unknown) => canonical(a) === canonical(b);

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

function childNames(doc: unknown): string[] {
  const steps = (doc as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) return [];
  const leaves = steps.flatMap((s: unknown) =>
    s && typeof s === "object" && "parallel" in s && Array.isArray(s.parallel)
      ? (s.parallel as unknown[])
      : [s],
  );
  return leaves.flatMap((s) =>
    s &&
    typeof s === "object" &&
    (s as { kind?: unknown }).kind === "saga" &&
    typeof (s as { saga?: unknown }).saga === "string"
      ? [(s as { saga: string }).saga]
      : [],
  );
}

function conflict(name: string, version: number, why: string): SagaError {
  return new SagaError(
    ErrorCodes.DEFINITION_CONFLICT,
    `saga ${name} version ${version} already exists: ${why}`,
    { retryable: false },
  );
}
