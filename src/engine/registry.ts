import { ErrorCodes, SagaError } from "../core/errors.js";
import type { SagaDefinition } from "./definition.js";
import type { SagaType } from "./store-port.js";

type Versions = Map<number, SagaDefinition<unknown>>;

/** Reading the definitions a process can run (what the engine and the API get; adding is not theirs). */
export interface DefinitionLookup {
  /** The given version, or the latest one, as this tenant sees them. Throws SAGA_UNKNOWN_TYPE. */
  resolve(name: string, version?: number, tenantId?: string): SagaDefinition<unknown>;
  find(name: string, version: number, tenantId?: string): SagaDefinition<unknown> | undefined;
  has(name: string, version: number, tenantId?: string): boolean;
  /** Every (name, version) any tenant can run here: what this worker claims. */
  types(): SagaType[];
  /** The definitions a tenant sees (global and its own), or only the global ones. */
  all(tenantId?: string): SagaDefinition<unknown>[];
}

/**
 * The saga definitions this process can run, by name and version: global ones (given in code or
 * loaded from files at start-up) and those a tenant registered as data, which only that tenant
 * sees. A tenant's version of a name shadows a global one with the same number.
 */
export class DefinitionRegistry implements DefinitionLookup {
  private readonly global = new Map<string, Versions>();
  private readonly tenants = new Map<string, Map<string, Versions>>();

  constructor(definitions: readonly SagaDefinition<never, never>[]) {
    for (const d of definitions) this.add(d);
  }

  /** Adds a definition (for `tenantId`, or for everyone); the same name+version twice is an error. */
  add(definition: SagaDefinition<never, never>, tenantId?: string): void {
    const d = definition as unknown as SagaDefinition<unknown>;
    let scope = this.global;
    if (tenantId !== undefined) {
      scope = this.tenants.get(tenantId) ?? new Map<string, Versions>();
      this.tenants.set(tenantId, scope);
    }
    const versions = scope.get(d.name) ?? new Map<number, SagaDefinition<unknown>>();
    if (versions.has(d.version)) {
      throw new SagaError(
        ErrorCodes.INVALID_DEFINITION,
        `saga ${d.name} version ${d.version} is defined twice`,
        {
          retryable: false,
        },
      );
    }
    versions.set(d.version, d);
    scope.set(d.name, versions);
  }

  has(name: string, version: number, tenantId?: string): boolean {
    return this.find(name, version, tenantId) !== undefined;
  }

  private versionsOf(name: string, tenantId?: string): Versions {
    const merged: Versions = new Map(this.global.get(name) ?? []);
    const own = tenantId === undefined ? undefined : this.tenants.get(tenantId)?.get(name);
    for (const [v, d] of own ?? []) merged.set(v, d);
    return merged;
  }

  /** The given version, or the latest one, as this tenant sees them. Throws SAGA_UNKNOWN_TYPE. */
  resolve(name: string, version?: number, tenantId?: string): SagaDefinition<unknown> {
    const versions = this.versionsOf(name, tenantId);
    if (versions.size === 0) {
      const known = this.names(tenantId).join(", ") || "none";
      throw new SagaError(
        ErrorCodes.UNKNOWN_SAGA_TYPE,
        `unknown saga type ${JSON.stringify(name)} (known: ${known})`,
        {
          retryable: false,
        },
      );
    }
    const chosen =
      version === undefined ? versions.get(Math.max(...versions.keys())) : versions.get(version);
    if (!chosen) {
      throw new SagaError(
        ErrorCodes.UNKNOWN_SAGA_TYPE,
        `saga ${name} has no version ${String(version)} here (have: ${[...versions.keys()].sort((a, b) => a - b).join(", ")})`,
        { retryable: false },
      );
    }
    return chosen;
  }

  find(name: string, version: number, tenantId?: string): SagaDefinition<unknown> | undefined {
    return (
      (tenantId === undefined ? undefined : this.tenants.get(tenantId)?.get(name)?.get(version)) ??
      this.global.get(name)?.get(version)
    );
  }

  /** Every (name, version) any tenant can run here: what this worker claims. */
  types(): SagaType[] {
    const seen = new Map<string, SagaType>();
    for (const scope of [this.global, ...this.tenants.values()]) {
      for (const versions of scope.values()) {
        for (const d of versions.values())
          seen.set(`${d.name}\u0000${d.version}`, { name: d.name, version: d.version });
      }
    }
    return [...seen.values()];
  }

  /** The definitions a tenant sees (global and its own), or only the global ones. */
  all(tenantId?: string): SagaDefinition<unknown>[] {
    const names = this.names(tenantId);
    return names.flatMap((name) => [...this.versionsOf(name, tenantId).values()]);
  }

  private names(tenantId?: string): string[] {
    const own = tenantId === undefined ? [] : [...(this.tenants.get(tenantId)?.keys() ?? [])];
    return [...new Set([...this.global.keys(), ...own])].sort();
  }
}
