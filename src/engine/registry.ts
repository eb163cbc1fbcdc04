import { ErrorCodes, SagaError } from "../core/errors.js";
import type { SagaDefinition } from "./definition.js";
import type { SagaType } from "./store-port.js";

/** The saga definitions this process can run, by name and version. */
export class DefinitionRegistry {
  private readonly byName = new Map<string, Map<number, SagaDefinition<unknown>>>();

  constructor(definitions: readonly SagaDefinition<never, never>[]) {
    for (const d of definitions as readonly SagaDefinition<unknown>[]) {
      const versions = this.byName.get(d.name) ?? new Map<number, SagaDefinition<unknown>>();
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
      this.byName.set(d.name, versions);
    }
  }

  /** The given version, or the latest one. Throws SAGA_UNKNOWN_TYPE. */
  resolve(name: string, version?: number): SagaDefinition<unknown> {
    const versions = this.byName.get(name);
    if (!versions) {
      const known = [...this.byName.keys()].sort().join(", ") || "none";
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
        `saga ${name} has no version ${String(version)} here (have: ${[...versions.keys()].join(", ")})`,
        { retryable: false },
      );
    }
    return chosen;
  }

  find(name: string, version: number): SagaDefinition<unknown> | undefined {
    return this.byName.get(name)?.get(version);
  }

  types(): SagaType[] {
    return [...this.byName.values()].flatMap((versions) =>
      [...versions.values()].map((d) => ({ name: d.name, version: d.version })),
    );
  }

  all(): SagaDefinition<unknown>[] {
    return [...this.byName.values()].flatMap((versions) => [...versions.values()]);
  }
}
