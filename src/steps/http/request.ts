import { validateHeaderName, validateHeaderValue } from "node:http";
import { TerminalError, ErrorCodes } from "../../core/errors.js";
import type { Json } from "../../core/json.js";
import { asText, render, resolvePlaceholder, scanTemplate } from "../template.js";
import { forbidden } from "./http-client.js";
import { usesSecrets, type Scrubber } from "./secrets.js";
import { RESERVED_HEADERS, type HttpStepSpec } from "./spec.js";

/** What `sendHttpRequest` needs from a step, before the per-attempt settings. */
export interface BuiltRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
  privateHeaders: Set<string>;
  privateBody: boolean;
  /** The body before serialisation (for `callback_urls`). */
  renderedBody: Json | undefined;
}

const invalid = (message: string) =>
  new TerminalError(message, { code: ErrorCodes.SAGA_HTTP_INVALID_REQUEST });
const traversal = (message: string) =>
  new TerminalError(message, { code: ErrorCodes.SAGA_HTTP_PATH_TRAVERSAL });

const isJsonType = (contentType: string): boolean =>
  /^application\/([\w.+-]*\+)?json\b/i.test(contentType.trim());

/** `.`, `..` and their percent-encoded spellings, which URL parsers treat as dot segments. */
const isDotSegment = (segment: string): boolean => /^(?:\.|%2e){1,2}$/i.test(segment);

/**
 * The step's path: literal text as written, each placeholder's value percent-encoded as (part of)
 * one segment. A value cannot add a `/`, `?` or `#`; a segment that ends up `.` or `..` (however
 * spelled) is refused, so the path never leaves its templated prefix.
 */
function renderPath(template: string, context: Record<string, unknown>): string {
  let path = "";
  for (const part of scanTemplate(template))
    path +=
      "text" in part
        ? part.text
        : encodeURIComponent(asText(resolvePlaceholder(context, part.placeholder)));
  const pathOnly = path.split(/[?#]/, 1)[0]!;
  for (const segment of pathOnly.split("/"))
    if (isDotSegment(segment))
      throw traversal(
        `the path would hold a "${segment}" segment; placeholders cannot move up the path`,
      );
  return path;
}

/** The literal text of a path template before its first placeholder (the prefix it must keep). */
function literalPrefix(template: string): string {
  const first = scanTemplate(template)[0];
  return first !== undefined && "text" in first ? first.text : "";
}

/** `base` + rendered `path`: the result must stay on the base URL's origin and under its path. */
function buildUrl(baseUrl: string, spec: HttpStepSpec, context: Record<string, unknown>): URL {
  const base = new URL(baseUrl);
  const template = spec.path ?? "";
  const path = renderPath(template, context);
  const basePath = base.pathname.endsWith("/") ? base.pathname : `${base.pathname}/`;
  let url: URL;
  let prefix: URL;
  try {
    url = new URL(`${base.origin}${basePath}${path.replace(/^\/+/, "")}`);
    prefix = new URL(`${base.origin}${basePath}${literalPrefix(template).replace(/^\/+/, "")}`);
  } catch {
    throw invalid(`the path of service ${spec.service} does not make a valid URL`);
  }
  if (url.origin !== base.origin) throw forbidden(`the path leaves the origin of ${spec.service}`);
  if (!url.pathname.startsWith(prefix.pathname))
    throw traversal(`the path leaves its templated prefix ${prefix.pathname}`);
  for (const [name, value] of base.searchParams) url.searchParams.append(name, value);
  if (spec.query !== undefined) {
    const query = render(spec.query, context);
    for (const [name, value] of Object.entries(query as Record<string, Json>)) {
      if (value === null) continue;
      for (const item of Array.isArray(value) ? value : [value])
        url.searchParams.append(name, asText(item));
    }
  }
  return url;
}

/**
 * The callback URLs a request carries (`callback_urls`: `body.a.b`, `query.name`,
 * `headers.Name`), as found in the rendered request; null/absent values are skipped. A value that
 * is not an absolute URL is refused.
 */
export function callbackUrls(spec: HttpStepSpec, request: BuiltRequest): URL[] {
  const urls: URL[] = [];
  for (const where of spec.callback_urls ?? []) {
    const [root, ...rest] = where.split(".");
    let value: unknown;
    if (root === "query") value = request.url.searchParams.get(rest.join("."));
    else if (root === "headers") value = request.headers[rest.join(".").toLowerCase()];
    else if (root === "body") {
      value = request.renderedBody;
      for (const key of rest)
        value =
          value !== null &&
          typeof value === "object" &&
          Object.prototype.hasOwnProperty.call(value, key)
            ? (value as Record<string, unknown>)[key]
            : undefined;
    }
    if (value === undefined || value === null) continue;
    if (typeof value !== "string") throw forbidden(`the callback URL at ${where} is not a string`);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw forbidden(`the callback URL at ${where} is not an absolute URL`);
    }
    urls.push(url);
  }
  return urls;
}

/**
 * Renders a step's request. `fixed` headers (`Idempotency-Key`, `X-Correlation-ID`) are added on
 * top of the configured ones, which may not set them (nor `Host`, `Content-Length`…).
 */
export function buildRequest(
  spec: HttpStepSpec,
  baseUrl: string,
  context: Record<string, unknown>,
  scrubber: Scrubber,
  fixed: Record<string, string>,
): BuiltRequest {
  const url = buildUrl(baseUrl, spec, context);
  const headers: Record<string, string> = { accept: "application/json" };
  const privateHeaders = new Set<string>();
  const configured = spec.headers === undefined ? {} : render(spec.headers, context);
  for (const [rawName, value] of Object.entries(configured as Record<string, Json>)) {
    const name = rawName.toLowerCase();
    if (value === null) continue;
    if (RESERVED_HEADERS.includes(name))
      throw invalid(`header ${rawName} is set by the step and cannot be configured`);
    const text = asText(value);
    try {
      validateHeaderName(name);
      validateHeaderValue(name, text);
    } catch {
      throw invalid(`header ${rawName} has an invalid name or value`);
    }
    headers[name] = text;
    if (scrubber.carries(text) || usesSecrets(spec.headers?.[rawName])) privateHeaders.add(name);
  }
  for (const [name, value] of Object.entries(fixed)) headers[name.toLowerCase()] = value;

  let body: string | undefined;
  let rendered: Json | undefined;
  if (spec.body !== undefined) {
    rendered = render(spec.body, context);
    const contentType = headers["content-type"];
    if (typeof rendered === "string" && contentType !== undefined && !isJsonType(contentType))
      body = rendered;
    else {
      body = JSON.stringify(rendered);
      headers["content-type"] ??= "application/json";
    }
  }
  return {
    method: (spec.method ?? "GET").toUpperCase(),
    url,
    headers,
    body,
    privateHeaders,
    privateBody: body !== undefined && (scrubber.carries(body) || usesSecrets(spec.body)),
    renderedBody: rendered,
  };
}
