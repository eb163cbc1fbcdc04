import { ErrorCodes, invalidInput } from "../../core/errors.js";
import type { Json } from "../../core/json.js";
import type { RetryPolicy } from "../../core/plan.js";
import {
  defineSaga,
  type ParallelDefinition,
  type SagaDefinition,
  type StepContext,
  type StepDefinition,
} from "../../engine/definition.js";
import { executeHttpStep, type HttpStepDeps } from "../../steps/http/http-step.js";
import type { HttpStepSpec } from "../../steps/http/spec.js";
import { render } from "../../steps/template.js";
import type { LeafStepDocument, RetryDocument, SagaDocument, WhenDocument } from "./schema.js";
import { definitionIssues, type ValidateOptions } from "./validate.js";

export interface CompileOptions extends ValidateOptions {
  http: HttpStepDeps;
  /** Service defaults (SAGA_TIMEOUT_SECONDS, SAGA_RETRY_ATTEMPTS, SAGA_STEP_TIMEOUT_SECONDS). */
  defaults?: { timeoutMs?: number; stepTimeoutMs?: number; retry?: Partial<RetryPolicy> };
}

/** A compiled document keeps its source (for the definitions API and conflict checks). */
export type CompiledDefinition = SagaDefinition<Json> & { readonly document: SagaDocument };

/**
 * Validates a definition document and compiles it to an engine definition. Throws SagaError
 * SAGA_INVALID_DEFINITION whose `details` list every problem as `{ path, code, message }`.
 * `options.platform` marks a definition the platform wrote (may use platform secrets).
 */
export function compileDefinition(raw: unknown, options: CompileOptions): CompiledDefinition {
  const issues = definitionIssues(raw, options);
  if (issues.length > 0) {
    const problems = issues.map((p) => `${p.path}: ${p.message}`);
    const name =
      typeof (raw as { name?: unknown } | null)?.name === "string"
        ? (raw as { name: string }).name
        : "?";
    throw invalidInput(
      `invalid saga definition ${JSON.stringify(name.slice(0, 200))}: ${problems.length} problem(s): ${problems.slice(0, 20).join("; ")}${problems.length > 20 ? "; …" : ""}`,
      {
        code: issues.every((p) => p.code === ErrorCodes.SAGA_DURATION_TOO_LONG)
          ? ErrorCodes.SAGA_DURATION_TOO_LONG
          : ErrorCodes.SAGA_INVALID_DEFINITION,
        details: issues.map((p) => ({ path: p.path, code: p.code, message: p.message })),
      },
    );
  }
  const doc = raw as SagaDocument;
  const scope = { platform: options.platform === true };
  const view = (ctx: Pick<StepContext<Json>, "input" | "results" | "sagaId" | "sagaName">) => ({
    input: ctx.input,
    results: ctx.results,
    saga: { id: ctx.sagaId, name: ctx.sagaName },
  });

  const leaf = (step: LeafStepDocument): StepDefinition<Json> => {
    const common: Partial<StepDefinition<Json>> = {
      ...(step.timeout_seconds !== undefined ? { timeoutMs: step.timeout_seconds * 1000 } : {}),
      ...(step.retry ? { retry: retryOf(step.retry), compensationRetry: retryOf(step.retry) } : {}),
      ...(step.when !== undefined ? { when: whenOf(step.when, view) } : {}),
    };
    switch (step.kind ?? "http") {
      case "http": {
        const s = step as Extract<LeafStepDocument, { request: unknown }>;
        const compensation = s.compensation === "none" ? undefined : s.compensation;
        return {
          ...common,
          name: s.name,
          action: (ctx) => executeHttpStep(s.request as HttpStepSpec, ctx, options.http, scope),
          ...(compensation
            ? {
                compensate: (ctx: StepContext<Json>) =>
                  executeHttpStep(compensation.request as HttpStepSpec, ctx, options.http, scope),
                ...(compensation.retry ? { compensationRetry: retryOf(compensation.retry) } : {}),
              }
            : {}),
        };
      }
      case "publish": {
        const s = step as Extract<LeafStepDocument, { kind: "publish" }>;
        return {
          ...common,
          name: s.name,
          action: (ctx) => {
            const data =
              s.event.data === undefined ? null : render(s.event.data as Json, view(ctx));
            const key = s.event.key === undefined ? null : render(s.event.key as Json, view(ctx));
            const emitted = ctx.emit(
              [
                {
                  type: s.event.type,
                  data,
                  key: key === null ? null : typeof key === "string" ? key : JSON.stringify(key),
                },
              ],
              null,
            );
            return ctx.emit(emitted.messages, {
              published: emitted.messages.map((m) => ({ id: m.id, type: m.type })),
            });
          },
        };
      }
      case "wait": {
        const s = step as Extract<LeafStepDocument, { kind: "wait" }>;
        return {
          ...common,
          name: s.name,
          // The timeout belongs to the wait, not to one attempt of starting it.
          timeoutMs: undefined,
          action: (ctx) =>
            ctx.waitForEvent(s.event, {
              path: s.match.path,
              equals: scalar(render(s.match.equals as Json, view(ctx))),
              ...(s.timeout_seconds !== undefined ? { timeoutMs: s.timeout_seconds * 1000 } : {}),
            }),
        };
      }
      case "sleep": {
        const s = step as Extract<LeafStepDocument, { kind: "sleep" }>;
        return {
          ...common,
          name: s.name,
          timeoutMs: undefined,
          action: (ctx) => ctx.sleep(s.seconds * 1000),
        };
      }
      case "saga": {
        const s = step as Extract<LeafStepDocument, { kind: "saga" }>;
        return {
          ...common,
          name: s.name,
          timeoutMs: undefined,
          action: (ctx) =>
            ctx.startChild(
              s.saga,
              s.input === undefined ? ctx.input : render(s.input as Json, view(ctx)),
              {
                ...(s.version !== undefined ? { version: s.version } : {}),
              },
            ),
          compensate: async (ctx) => {
            const child = (ctx.results as Record<string, { sagaId?: string } | undefined>)[s.name];
            if (child?.sagaId) await ctx.compensateChild(child.sagaId);
          },
        };
      }
    }
  };

  const steps = doc.steps.map((step): StepDefinition<Json> | ParallelDefinition<Json> =>
    "parallel" in step
      ? {
          name: step.name,
          parallel: step.parallel.map(leaf),
        }
      : leaf(step),
  );
  const defaults = options.defaults ?? {};
  const timeoutMs =
    doc.timeout_seconds !== undefined ? doc.timeout_seconds * 1000 : defaults.timeoutMs;
  const stepTimeoutMs =
    doc.step_timeout_seconds !== undefined
      ? doc.step_timeout_seconds * 1000
      : defaults.stepTimeoutMs;
  const definition = defineSaga<Json>({
    name: doc.name,
    version: doc.version,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(stepTimeoutMs !== undefined ? { stepTimeoutMs } : {}),
    ...(doc.on_failure ? { onFailure: doc.on_failure } : {}),
    retry: { ...defaults.retry, ...(doc.retry ? retryOf(doc.retry) : {}) },
    ...(doc.attributes
      ? {
          attributes: (input: Json) => {
            const out: Record<string, string | number | boolean | null> = {};
            for (const [key, template] of Object.entries(doc.attributes ?? {})) {
              const value = render(template as Json, { input });
              out[key] =
                typeof value === "object" && value !== null ? JSON.stringify(value) : value;
            }
            return out;
          },
        }
      : {}),
    triggers: (doc.triggers ?? []).map((t) => ({
      event: t.event,
      input: (event) => (t.input === undefined ? event.data : render(t.input as Json, { event })),
    })),
    steps,
  });
  return Object.assign(definition, { document: doc });
}

function retryOf(doc: RetryDocument): Partial<RetryPolicy> {
  return {
    ...(doc.max_attempts !== undefined ? { maxAttempts: doc.max_attempts } : {}),
    ...(doc.initial_delay_ms !== undefined ? { initialDelayMs: doc.initial_delay_ms } : {}),
    ...(doc.backoff !== undefined ? { backoff: doc.backoff } : {}),
    ...(doc.max_delay_ms !== undefined ? { maxDelayMs: doc.max_delay_ms } : {}),
    ...(doc.jitter !== undefined ? { jitter: doc.jitter } : {}),
  };
}

function whenOf(
  when: WhenDocument,
  view: (
    ctx: Pick<StepContext<Json>, "input" | "results" | "sagaId" | "sagaName">,
  ) => Record<string, unknown>,
): StepDefinition<Json>["when"] {
  return (ctx) => {
    const context = view(ctx);
    if (typeof when === "string") return truthy(render(when, context));
    const value = render(`{{${when.path} ?? null}}`, context);
    if (when.exists !== undefined) return (value !== null) === when.exists;
    if (when.in !== undefined) return when.in.some((v) => equal(v, value));
    if (when.not_equals !== undefined) return !equal(when.not_equals, value);
    if (when.equals !== undefined) return equal(when.equals, value);
    return truthy(value);
  };
}

const truthy = (v: Json) => !(v === null || v === false || v === 0 || v === "" || v === "false");
const equal = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

const scalar = (v: Json): string => (typeof v === "string" ? v : JSON.stringify(v));
