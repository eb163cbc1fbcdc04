import { ErrorCodes } from "../../core/errors.js";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { errorBody } from "../http-errors.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer | null;
  immutable: boolean;
}

/** ui/dist of this package: the folder above src/ (or above dist/src/ in the compiled build). */
export function consoleDistDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "ui", "dist");
    if (existsSync(join(candidate, "index.html"))) return candidate;
    dir = dirname(dir);
  }
  return null;
}

function loadAssets(root: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const body = readFileSync(path);
        const type = TYPES[extname(name)] ?? "application/octet-stream";
        const compressible = /^(text|application\/json|image\/svg)/.test(type);
        assets.set(relative(root, path).split(sep).join("/"), {
          type,
          body,
          gzip: compressible && body.length > 512 ? gzipSync(body, { level: 9 }) : null,
          immutable: relative(root, path).startsWith(`assets${sep}`),
        });
      }
    }
  };
  walk(resolve(root));
  return assets;
}

/**
 * The web console: ui/dist (built by `npm ci`) at /ui, read into memory once; any other path under
 * /ui is the single-page app's index.html. `/` redirects to /ui/. No credentials are needed for
 * the files: the console asks for them and sends them with each API call.
 */
export function consoleStaticRoutes(app: FastifyInstance, dir = consoleDistDir()): void {
  const assets = dir ? loadAssets(dir) : new Map<string, Asset>();
  const send = (request: FastifyRequest, reply: FastifyReply, path: string) => {
    const asset = assets.get(path) ?? assets.get("index.html");
    if (!asset) {
      return reply
        .status(503)
        .send(
          errorBody(
            ErrorCodes.CONSOLE_NOT_BUILT,
            "the web console is not built: run `npm ci` (or `npm run build -w ui`) and restart",
          ),
        );
    }
    const accepts = String(request.headers["accept-encoding"] ?? "");
    const gzip = asset.gzip !== null && /\bgzip\b/.test(accepts);
    reply
      .headers(SECURITY_HEADERS)
      .header("content-type", asset.type)
      .header(
        "cache-control",
        asset.immutable && assets.has(path) ? "public, max-age=31536000, immutable" : "no-cache",
      )
      .header("vary", "accept-encoding");
    if (gzip) reply.header("content-encoding", "gzip");
    return reply.send(gzip ? asset.gzip : asset.body);
  };
  const options = { config: { public: true }, schema: { hide: true } };
  app.get("/", options, (_request, reply) => reply.redirect("/ui/"));
  app.get("/ui", options, (_request, reply) => reply.redirect("/ui/"));
  app.get("/ui/", options, (request, reply) => send(request, reply, "index.html"));
  app.get<{ Params: { "*": string } }>("/ui/*", options, (request, reply) =>
    send(request, reply, request.params["*"]),
  );
}
