import { Type, type Static } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest, RouteOptions, preHandlerHookHandler } from "fastify";

/**
 * The paths the seed documents use, served as documented aliases of this API's own routes. An
 * alias is the original route registered again under another path: the same handler, the same
 * role check, the same authentication, tenancy and rate limit (global hooks), the same schemas;
 * only its OpenAPI entry says "alias of …". Aliases appear only where the original exists.
 *
 * Call before the routes are registered (and before the rate limiter, so that the alias gets the
 * limiter's own hook once rather than a copy of the original's).
 */
export function seedAliasRoutes(app: FastifyInstance): void {
  const wanted = new Map<string, Alias[]>();
  for (const alias of ALIASES) {
    const key = `${alias.method} ${alias.of}`;
    wanted.set(key, [...(wanted.get(key) ?? []), alias]);
  }
  // /openapi.json is registered before this hook: its alias is added here, public like it.
  app.get(
    "/api/schema/",
    {
      config: { public: true },
      schema: {
        tags: ["seed aliases"],
        summary: "Alias of GET /openapi.json: this OpenAPI document",
        description: "The path seed 004 documents for the OpenAPI schema.",
      },
    },
    () => app.swagger(),
  );
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      for (const alias of wanted.get(`${method} ${route.url}`) ?? []) {
        app.route(aliasOf(route, method, alias));
      }
    }
  });
}

interface Alias {
  method: "GET" | "POST";
  /** The original route's path. */
  of: string;
  /** The seed path served. */
  path: string;
  /** Which seed document uses it. */
  seed: string;
  /** A body in the seed's shape, turned into the original's before its handler runs. */
  body?: { schema: object; translate: (body: unknown) => unknown };
}

const SeedStartBody = Type.Object(
  {
    saga_name: Type.String({ minLength: 1, maxLength: 200, description: "The saga type." }),
    context: Type.Optional(Type.Unknown({ description: "The saga's input (default null)." })),
    idempotency_key: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    version: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

const startFromSeed = {
  schema: SeedStartBody,
  translate: (raw: unknown) => {
    const body = raw as Static<typeof SeedStartBody>;
    return {
      saga_type: body.saga_name,
      input: body.context ?? null,
      ...(body.idempotency_key !== undefined ? { idempotency_key: body.idempotency_key } : {}),
      ...(body.version !== undefined ? { version: body.version } : {}),
    };
  },
};

/** Every seed path, and the route it is an alias of. */
export const ALIASES: readonly Alias[] = [
  { method: "GET", of: "/health", path: "/health/", seed: "004" },
  { method: "GET", of: "/health", path: "/health/detailed/", seed: "004" },
  { method: "GET", of: "/health", path: "/api/sagas/status/", seed: "004" },
  { method: "GET", of: "/sagas/", path: "/sagas", seed: "000, 001" },
  { method: "GET", of: "/definitions", path: "/api/v1/sagas/definitions", seed: "002" },
  { method: "POST", of: "/definitions", path: "/api/v1/sagas/definitions", seed: "002" },
  { method: "GET", of: "/sagas/", path: "/api/v1/sagas/instances", seed: "002" },
  {
    method: "POST",
    of: "/sagas/start",
    path: "/api/v1/sagas/instances",
    seed: "002",
    body: startFromSeed,
  },
  { method: "GET", of: "/sagas/:id", path: "/api/v1/sagas/instances/:id", seed: "002" },
  {
    method: "GET",
    of: "/sagas/:id/stream",
    path: "/api/v1/sagas/instances/:id/stream",
    seed: "002",
  },
];

function aliasOf(route: RouteOptions, method: string, alias: Alias): RouteOptions {
  const schema = (route.schema ?? {}) as Record<string, unknown>;
  const original = alias.of.replace(/:(\w+)/g, "{$1}");
  const preHandlers = [route.preHandler ?? []].flat() as preHandlerHookHandler[];
  const body = alias.body;
  const options: RouteOptions = {
    ...route,
    method,
    url: alias.path,
    schema: {
      ...schema,
      hide: false,
      tags: ["seed aliases"],
      summary: `Alias of ${method} ${original}${typeof schema.summary === "string" ? `: ${schema.summary}` : ""}`,
      description:
        `The path seed ${alias.seed} documents; answers exactly as ${method} ${original} does (same credentials, roles and tenancy).` +
        (body
          ? " The body is the seed's: `saga_name` (the saga type) and `context` (its input)."
          : ""),
      ...(body ? { body: body.schema } : {}),
    },
    preHandler: body
      ? [
          ...preHandlers,
          (request: FastifyRequest, _reply, done) => {
            request.body = body.translate(request.body);
            done();
          },
        ]
      : preHandlers,
  };
  (options as { path?: string }).path = alias.path;
  delete (options as { prefix?: unknown }).prefix;
  delete (options as { routePath?: unknown }).routePath;
  return options;
}
