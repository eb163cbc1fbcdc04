import {
  ErrorCodes,
  errorMessage,
  invalidInput,
  invalidState,
  jsonProblemCode,
  SagaError,
} from "../core/errors.js";
import type { FaultDirective, ParentRef, SagaEvent } from "../core/events.js";
import { toJson, type Json } from "../core/json.js";
import { applyEvent } from "../core/reducer.js";
import type { SagaState } from "../core/state.js";
import { deadlineBase, type Clock } from "./clock.js";
import type { SagaDefinition } from "./definition.js";
import { uuidv7 } from "./ids.js";
import { isTraceparent } from "./trace-ids.js";
import type { DefinitionLookup } from "./registry.js";
import type { RunnerPool } from "./runner-pool.js";
import type { RunnerHost } from "./saga-runner.js";
import type { CreateResult } from "./store-port.js";

export interface StartRequest {
  tenantId: string;
  name: string;
  input: unknown;
  /** Carried into the saga's log lines and `ctx.correlationId`. */
  correlationId?: string;
  /** A repeated start with the same key (per tenant) returns the first saga. */
  idempotencyKey?: string;
  /** Start this version instead of the latest. */
  version?: number;
  /** Rehearse a failure: fail this attempt on purpose (recorded in SagaStarted). */
  fault?: FaultDirective;
  /** Set for a child saga: the parent's step that waits for it. */
  parent?: ParentRef;
  /** The W3C trace context of what asked for the start; kept only when well-formed. */
  traceparent?: string;
}

export interface Started {
  sagaId: string;
  /** False when the idempotency key returned a saga started earlier. */
  created: boolean;
  /** The saga as its start was written, or as found for a repeated key. */
  state: SagaState;
}

/**
 * Starts sagas: checks the request, writes `SagaStarted`, and runs the saga here at once (the
 * start fast path), or stores it as due work for any worker when this process is at capacity.
 * Returns once the start is durable.
 */
export class SagaStarter {
  constructor(
    private readonly definitions: DefinitionLookup,
    private readonly pool: RunnerPool,
    private readonly host: Pick<RunnerHost, "create">,
    private readonly clock: Clock,
  ) {}

  async start(request: StartRequest): Promise<Started> {
    const definition = this.definitions.resolve(request.name, request.version, request.tenantId);
    const started = this.startedEvent(definition, request);
    const state = applyEvent(null, started);
    let created: CreateResult;
    let written = state;
    if (this.pool.room <= 0) {
      // At capacity: store it as due work for any worker (this one included, once it has room).
      created = await this.host.create({
        state,
        events: [started],
        leaseOwner: null,
        leaseMs: 0,
        wakeAt: null,
      });
    } else {
      const runner = this.pool.run(definition, { state, unwritten: [started], lease: null });
      created = await runner.created;
      written = runner.createdState ?? state;
    }
    if (created.created) return { sagaId: state.id, created: true, state: written };
    if (created.existing.name !== definition.name) {
      throw invalidState(
        `idempotency key ${JSON.stringify(request.idempotencyKey ?? null)} already started saga ${created.sagaId} of type ${created.existing.name}`,
      );
    }
    return { sagaId: created.sagaId, created: false, state: created.existing };
  }

  private startedEvent(definition: SagaDefinition<unknown>, request: StartRequest): SagaEvent {
    const json = toJson(request.input);
    if (!json.ok) {
      throw new SagaError(
        jsonProblemCode(json.kind, ErrorCodes.SAGA_INVALID_INPUT),
        `saga input is not JSON: ${json.problem} at ${json.path}`,
        { retryable: false },
      );
    }
    const key = request.idempotencyKey ?? null;
    if (key !== null && (typeof key !== "string" || key.length === 0 || key.length > 255))
      throw invalidInput("idempotencyKey must be a string of 1 to 255 characters");
    const now = this.clock.now();
    return {
      type: "SagaStarted",
      at: now,
      sagaId: uuidv7(now),
      tenantId: request.tenantId,
      name: definition.name,
      version: definition.version,
      input: json.value,
      idempotencyKey: key,
      correlationId: request.correlationId ?? null,
      attributes: attributesOf(definition, json.value),
      parent: request.parent ?? null,
      ...(request.fault ? { fault: request.fault } : {}),
      ...(isTraceparent(request.traceparent) ? { traceparent: request.traceparent } : {}),
      // Counted from the latest the time may be: a saga's time limit never ends early.
      deadlineAt:
        definition.plan.timeoutMs === null
          ? null
          : deadlineBase(this.clock) + definition.plan.timeoutMs,
    };
  }
}

/** The business keys a definition derives from its input, checked: short names, scalar values. */
function attributesOf(
  definition: SagaDefinition<unknown>,
  input: Json,
): Record<string, string | number | boolean> {
  if (!definition.attributes) return {};
  let attributes: unknown;
  try {
    attributes = definition.attributes(input);
  } catch (error) {
    throw invalidInput(
      `attributes of ${definition.name} could not be computed from the input: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  if (typeof attributes !== "object" || attributes === null || Array.isArray(attributes))
    throw invalidInput(`attributes of ${definition.name} must be an object`);
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (
      !/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(key) ||
      !(typeof value === "string" || typeof value === "number" || typeof value === "boolean") ||
      (typeof value === "string" && value.length > 256)
    ) {
      throw invalidInput(
        `attribute ${JSON.stringify(key)} of ${definition.name} must be a short name with a string (<= 256 chars), number or boolean value`,
      );
    }
    out[key] = value;
  }
  return out;
}
