import { lookup } from "node:dns/promises";
import * as http from "node:http";
import * as https from "node:https";
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { SagaError, TerminalError, ErrorCodes } from "../../core/errors.js";
import { stripAddress } from "./ip.js";
import { urlPort, type SsrfGuard } from "./ssrf-guard.js";

/**
 * The HTTP client of `http` steps, on `node:http`/`node:https` with a connection factory of
 * its own: it resolves the host, passes every resolved address through the `SsrfGuard`, and
 * only then opens a socket to that exact address (no second lookup, so no DNS rebinding between
 * the check and the connection). A refused destination fails the request before any socket
 * exists. No connection is reused (one request, one connection).
 *
 * Redirects are followed by hand, at most `maxRedirects` times (0: a 3xx is returned as is).
 * Every target passes the guard's host gate, and its connection the address gate. 303 (and
 * 301/302 after a POST) become a GET without body; 307/308 keep the method and body. When a
 * redirect leaves the original origin, `Authorization`, `Cookie`, `Proxy-Authorization` and the
 * request's `privateHeaders` are dropped, and a redirect that would re-send a `privateBody` to
 * another origin is refused.
 */

export interface ResolvedAddress {
  address: string;
  family: number;
}
/** Resolves a hostname to all its addresses (default: `dns.lookup` with `all: true`). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface ConnectTarget {
  /** The URL's host (for TLS SNI and certificate checks). */
  hostname: string;
  /** The resolved address the guard allowed: the socket must connect to this one. */
  address: string;
  family: number;
  port: number;
  tls: boolean;
}
/** Opens a socket (default: `net.connect`, or `tls.connect` with SNI for https). */
export type Connector = (target: ConnectTarget) => Socket;

export interface HttpTransport {
  guard: SsrfGuard;
  resolve?: Resolver;
  connect?: Connector;
}

export interface HttpRequest {
  method: string;
  url: URL;
  headers: Readonly<Record<string, string>>;
  body?: string | undefined;
  /** Lower-case names of headers not to send once a redirect has left the original origin. */
  privateHeaders?: ReadonlySet<string>;
  /** The body carries a secret: never re-send it to another origin. */
  privateBody?: boolean;
  /** The step's signal; aborting it aborts the request. */
  signal: AbortSignal;
  /** Time limit of the whole exchange, redirects and body included. */
  timeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body decoded as UTF-8 ("" when empty). */
  text: string;
  /** The URL that answered (after redirects). */
  url: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

const defaultResolve: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

const defaultConnect: Connector = (t) =>
  t.tls
    ? tlsConnect({
        host: t.address,
        port: t.port,
        servername: isIP(t.hostname) === 0 ? t.hostname : undefined,
        ALPNProtocols: ["http/1.1"],
      })
    : netConnect({ host: t.address, port: t.port });

/** A destination the guard refused: terminal, and no socket was opened. */
export function forbidden(reason: string): TerminalError {
  return new TerminalError(`destination refused: ${reason}`, {
    code: ErrorCodes.SAGA_HTTP_FORBIDDEN_DESTINATION,
  });
}

/** Sends one request (following redirects as described above) and reads the whole response. */
export async function sendHttpRequest(
  request: HttpRequest,
  transport: HttpTransport,
): Promise<HttpResponse> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${request.timeoutMs} ms`));
  }, request.timeoutMs);
  const onStepAbort = () => controller.abort(request.signal.reason);
  if (request.signal.aborted) onStepAbort();
  else request.signal.addEventListener("abort", onStepAbort, { once: true });
  try {
    return await follow(request, transport, controller.signal);
  } catch (thrown) {
    if (thrown instanceof SagaError) throw thrown;
    if (timedOut)
      throw new SagaError(
        ErrorCodes.SAGA_HTTP_TIMEOUT,
        `${request.method} ${request.url.origin}${request.url.pathname} timed out after ${request.timeoutMs} ms`,
        { details: { timeoutMs: request.timeoutMs } },
      );
    if (request.signal.aborted)
      throw new SagaError(
        ErrorCodes.SAGA_HTTP_ABORTED,
        `the request was aborted: ${describe(request.signal.reason)}`,
      );
    throw new SagaError(
      ErrorCodes.SAGA_HTTP_NETWORK,
      `${request.method} ${request.url.origin}${request.url.pathname} failed: ${describe(thrown)}`,
      { details: { cause: describe(thrown) } },
    );
  } finally {
    clearTimeout(timer);
    request.signal.removeEventListener("abort", onStepAbort);
  }
}

function describe(thrown: unknown): string {
  if (!(thrown instanceof Error)) return String(thrown);
  const code = (thrown as { code?: unknown }).code;
  return typeof code === "string" ? `${code} ${thrown.message}` : thrown.message;
}

interface Hop {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
}

async function follow(
  request: HttpRequest,
  transport: HttpTransport,
  signal: AbortSignal,
): Promise<HttpResponse> {
  const origin = request.url.origin;
  let hop: Hop = {
    method: request.method,
    url: request.url,
    headers: { ...request.headers },
    body: request.body,
  };
  let leftOrigin = false;
  for (let redirects = 0; ; redirects++) {
    const decision = transport.guard.checkUrl(hop.url);
    if (!decision.allowed) throw forbidden(decision.reason);
    const response = await exchange(hop, transport, signal, {
      maxBytes: request.maxResponseBytes,
      followRedirects: request.maxRedirects > 0,
    });
    const location = response.headers.location;
    if (request.maxRedirects === 0 || !REDIRECTS.has(response.status) || location === undefined)
      return response;
    if (redirects >= request.maxRedirects)
      throw new TerminalError(`more than ${request.maxRedirects} redirects`, {
        code: ErrorCodes.SAGA_HTTP_REDIRECT_REFUSED,
      });
    let next: URL;
    try {
      next = new URL(location, hop.url);
    } catch {
      throw new TerminalError(`redirect to a location that does not parse`, {
        code: ErrorCodes.SAGA_HTTP_REDIRECT_REFUSED,
      });
    }
    const toGet =
      response.status === 303
        ? hop.method !== "HEAD"
        : (response.status === 301 || response.status === 302) && hop.method === "POST";
    const headers = { ...hop.headers };
    let body = hop.body;
    if (toGet) {
      body = undefined;
      for (const name of Object.keys(headers))
        if (name.toLowerCase().startsWith("content-")) delete headers[name];
    }
    if (next.origin !== origin && !leftOrigin) {
      leftOrigin = true;
      const drop = new Set([...CREDENTIAL_HEADERS, ...(request.privateHeaders ?? [])]);
      for (const name of Object.keys(headers))
        if (drop.has(name.toLowerCase())) delete headers[name];
    }
    if (leftOrigin && body !== undefined && request.privateBody)
      throw new TerminalError(`refused to re-send a body carrying a secret to another origin`, {
        code: ErrorCodes.SAGA_HTTP_REDIRECT_REFUSED,
      });
    hop = { method: toGet ? "GET" : hop.method, url: next, headers, body };
  }
}

/**
 * Checks a URL that will be handed to someone else (a callback URL) as a request to it would be:
 * scheme and host gate, then every address its host resolves to through the address gate. No
 * connection is made. Throws SAGA_HTTP_FORBIDDEN_DESTINATION when refused.
 */
export async function vetDestination(url: URL, transport: HttpTransport): Promise<void> {
  const decision = transport.guard.checkUrl(url);
  if (!decision.allowed) throw forbidden(decision.reason);
  if (url.username !== "" || url.password !== "")
    throw forbidden("a callback URL cannot carry credentials");
  const hostname = stripAddress(url.hostname);
  const port = urlPort(url);
  const literal = isIP(hostname);
  let addresses: ResolvedAddress[];
  try {
    addresses =
      literal !== 0
        ? [{ address: hostname, family: literal }]
        : await (transport.resolve ?? defaultResolve)(hostname);
  } catch {
    throw forbidden(`the callback host ${hostname} does not resolve`);
  }
  if (addresses.length === 0) throw forbidden(`the callback host ${hostname} has no address`);
  for (const { address } of addresses) {
    const checked = transport.guard.checkAddress({ hostname, port, address });
    if (!checked.allowed) throw forbidden(checked.reason);
  }
}

/** Resolves, checks every address, then connects to the first allowed one that answers. */
async function connectGuarded(
  url: URL,
  transport: HttpTransport,
  signal: AbortSignal,
): Promise<Socket> {
  const hostname = stripAddress(url.hostname);
  const port = urlPort(url);
  const literal = isIP(hostname);
  const addresses =
    literal !== 0
      ? [{ address: hostname, family: literal }]
      : await (transport.resolve ?? defaultResolve)(hostname);
  if (addresses.length === 0) throw new Error(`${hostname} has no address`);
  // Every address must pass: a name that also resolves to a forbidden address is refused.
  for (const { address } of addresses) {
    const decision = transport.guard.checkAddress({ hostname, port, address });
    if (!decision.allowed) throw forbidden(decision.reason);
  }
  let lastError: unknown;
  for (const { address, family } of addresses) {
    signal.throwIfAborted();
    const target = { hostname, address, family, port, tls: url.protocol === "https:" };
    try {
      return await open((transport.connect ?? defaultConnect)(target), target.tls, signal);
    } catch (thrown) {
      lastError = thrown;
    }
  }
  throw lastError;
}

function open(socket: Socket, tls: boolean, signal: AbortSignal): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const ready = tls ? "secureConnect" : "connect";
    const cleanup = () => {
      socket.off(ready, onReady);
      socket.off("error", onError);
      signal.removeEventListener("abort", onAbort);
    };
    const onReady = () => (cleanup(), resolve(socket));
    const onError = (error: Error) => (cleanup(), socket.destroy(), reject(error));
    const onAbort = () =>
      onError(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    socket.once(ready, onReady);
    socket.once("error", onError);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function exchange(
  hop: Hop,
  transport: HttpTransport,
  signal: AbortSignal,
  limits: { maxBytes: number; followRedirects: boolean },
): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    const tls = hop.url.protocol === "https:";
    const options: http.RequestOptions = {
      method: hop.method,
      protocol: hop.url.protocol,
      hostname: stripAddress(hop.url.hostname),
      port: urlPort(hop.url),
      defaultPort: tls ? 443 : 80,
      path: `${hop.url.pathname}${hop.url.search}`,
      headers:
        hop.body === undefined
          ? hop.headers
          : { ...hop.headers, "content-length": String(Buffer.byteLength(hop.body)) },
      signal,
      createConnection: (_opts, oncreate) => {
        connectGuarded(hop.url, transport, signal).then(
          (socket) => oncreate(null, socket),
          (error: Error) => oncreate(error, undefined as never),
        );
        return undefined;
      },
    };
    const req = (tls ? https : http).request(options);
    req.on("error", reject); // `on`: a late second error must not go unhandled
    req.once("response", (res) => {
      const status = res.statusCode ?? 0;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(res.headers))
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
      const done = (text: string) => resolve({ status, headers, text, url: hop.url.href });
      if (limits.followRedirects && REDIRECTS.has(status) && headers.location !== undefined) {
        res.resume();
        res.once("end", () => done(""));
        res.on("error", reject);
        return;
      }
      const tooLarge = () =>
        new TerminalError(`the response body is larger than ${limits.maxBytes} bytes`, {
          code: ErrorCodes.SAGA_HTTP_RESPONSE_TOO_LARGE,
          details: { status, maxBytes: limits.maxBytes },
        });
      const declared = Number(headers["content-length"]);
      if (Number.isFinite(declared) && declared > limits.maxBytes) {
        req.destroy();
        return reject(tooLarge());
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxBytes) {
          req.destroy();
          reject(tooLarge());
        } else chunks.push(chunk);
      });
      res.once("end", () => done(Buffer.concat(chunks).toString("utf8")));
      res.on("error", reject);
      res.once("close", () => {
        if (!res.complete) reject(new Error("the connection closed before the response ended"));
      });
    });
    req.end(hop.body);
  });
}
