import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  propagation,
  trace,
  type Span,
  type TextMapGetter,
  type Tracer,
} from "@opentelemetry/api";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { IncomingHttpHeaders } from "node:http";

const spans = new WeakMap<FastifyRequest, Span>();

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key.toLowerCase()],
};

/**
 * A SERVER span per request (`GET /sagas/:id`: the route template, `unmatched` for unknown paths),
 * a child of the caller's `traceparent` when it sent one. Attributes: method, route, status; the
 * URL's query and every body stay out. Added first, so that refused requests have spans too.
 */
export function installTracingHook(app: FastifyInstance, tracer: Tracer): void {
  app.addHook("onRequest", (request, _reply, done) => {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers, headerGetter);
    const route = request.is404 ? "unmatched" : (request.routeOptions.url ?? "unmatched");
    spans.set(
      request,
      tracer.startSpan(
        `${request.method} ${route}`,
        {
          kind: SpanKind.SERVER,
          attributes: { "http.request.method": request.method, "http.route": route },
        },
        parent,
      ),
    );
    done();
  });
  app.addHook("onResponse", (request, reply, done) => {
    const span = spans.get(request);
    if (span) {
      spans.delete(request);
      span.setAttribute("http.response.status_code", reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}

/** The W3C trace context of the request's server span (none when tracing is off). */
export function requestTraceparent(request: FastifyRequest): string | undefined {
  const span = spans.get(request);
  if (!span) return undefined;
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), headers);
  return headers.traceparent;
}
