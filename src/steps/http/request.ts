import { validateHeaderName, validateHeaderValue } from "node:http";
import { TerminalError } from "../../core/errors.js";
import type { Json } from "../../core/json.js";
import { placeholders, render } from "../template.js";
import { HttpErrorCodes } from "./errors.js";
import { forbidden } from "./http-client.js";
import type { Scrubber } from "./secrets.js";
import { RESERVED_HEADERS, type HttpStepSpec } from "./spec.js";

/** What `sendHttpRequest` needs from a step, before the per-attempt settings. */
export interface BuiltRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
  privateHeaders: Set<string>;
  privateBody: boolean;
}

// The placeholder syntax of ../template.ts, to encode each placeholder of a path on its own.
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

const invalid = (message: string) =>
  new TerminalError(message, { code: HttpErrorCodes.HTTP_INVALID_REQUEST });

const asText = (value: Json): string => (typeof value === "string" ? value : JSON.stringify(value));

const usesSecrets = (template: unknown): boolean =>
  placeholders(template).some((p) => p.root === "secrets");

const isJsonType = (contentType: string): boolean =>
  /^application\/([\w.+-]*\+)?json\b/i.test(contentType.trim());

/** `base` + rendered `path`: the result must stay on the base URL's origin. */
function buildUrl(baseUrl: string, spec: HttpStepSpec, context: Record<string, unknown>): URL {
  const base = new URL(baseUrl);
  const path = (spec.path ?? "").replace(PLACEHOLDER, (whole) =>
    encodeURIComponent(asText(render(whole, context))),
  );
  const basePath = base.pathname.endsWith("/") ? base.pathname : `${base.pathname}/`;
  let url: URL;
  try {
    url = new URL(`${base.origin}${basePath}${path.replace(/^\/+/, "")}`);
  } catch {
    throw invalid(`the path of service ${spec.service} does not make a valid URL`);
  }
  if (url.origin !== base.origin) throw forbidden(`the path leaves the origin of ${spec.service}`);
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
  if (spec.body !== undefined) {
    const rendered = render(spec.body, context);
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
  };
}
