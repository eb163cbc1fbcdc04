import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyRequest } from "fastify";
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthenticator } from "../../src/api/auth.js";
import { HttpError } from "../../src/api/http-errors.js";
import { loadConfig } from "../../src/config/config.js";
import { call, expectError } from "./support/http.js";
import { useService } from "./support/service.js";
import { bearer, unsignedToken } from "./support/tokens.js";

/**
 * The JWT corpus: every token here is one an attacker (or a misconfigured issuer) could send.
 * Each must be answered 401, and never reach a route.
 */
const SECRET = "jwt-corpus-secret-0123456789abcdefghijkl";
const ISSUER = "https://idp.example.com/";
const AUDIENCE = "saga-api";
const enc = (s: string) => new TextEncoder().encode(s);
const now = () => Math.floor(Date.now() / 1000);
type Key = Parameters<SignJWT["sign"]>[0];
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
const GOOD = { tenant: "acme", roles: ["admin"], sub: "u-1" };

interface Forge {
  claims?: Record<string, unknown>;
  iss?: string | null;
  aud?: string | null;
  exp?: number | null;
  nbf?: number;
  key?: Key;
}

async function hs(f: Forge = {}): Promise<string> {
  let jwt = new SignJWT(f.claims ?? GOOD).setProtectedHeader({ alg: "HS256", typ: "JWT" });
  jwt = jwt.setIssuedAt(now() - 10);
  if (f.iss !== null) jwt = jwt.setIssuer(f.iss ?? ISSUER);
  if (f.aud !== null) jwt = jwt.setAudience(f.aud ?? AUDIENCE);
  if (f.exp !== null) jwt = jwt.setExpirationTime(f.exp ?? now() + 300);
  if (f.nbf !== undefined) jwt = jwt.setNotBefore(f.nbf);
  return jwt.sign(f.key ?? enc(SECRET));
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const payload = (extra: Record<string, unknown> = {}) => ({
  ...GOOD,
  iss: ISSUER,
  aud: AUDIENCE,
  exp: now() + 300,
  ...extra,
});

describe("JWT corpus against an HS256 server (JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE)", () => {
  const h = useService(
    { JWT_SECRET: SECRET, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE },
    { store: "postgres" },
  );
  let rsaPrivate: PrivateKey;
  let rsaPublicPem: string;
  beforeAll(async () => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    rsaPrivate = pair.privateKey;
    rsaPublicPem = await exportSPKI(pair.publicKey);
  });

  const CORPUS: { name: string; token: () => Promise<string> | string; code?: string }[] = [
    { name: "forged: signed with another secret", token: () => hs({ key: enc("x".repeat(40)) }) },
    {
      name: "forged: payload changed after signing (tenant swapped)",
      token: async () => {
        const [head, , sig] = (await hs()).split(".");
        return `${head}.${b64(payload({ tenant: "globex" }))}.${sig}`;
      },
    },
    {
      name: "forged: signature stripped",
      token: async () => `${(await hs()).split(".").slice(0, 2).join(".")}.`,
    },
    { name: "expired", token: () => hs({ exp: now() - 120 }), code: "TOKEN_EXPIRED" },
    { name: "not yet valid (nbf in the future)", token: () => hs({ nbf: now() + 3600 }) },
    { name: "no exp claim", token: () => hs({ exp: null }) },
    { name: "alg none", token: () => unsignedToken(payload()) },
    {
      name: "alg NONE (case variant)",
      token: () => `${b64({ alg: "NONE", typ: "JWT" })}.${b64(payload())}.`,
    },
    {
      name: "wrong key type: RS256 token (the server takes HS256 only)",
      token: () =>
        new SignJWT(GOOD)
          .setProtectedHeader({ alg: "RS256" })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime(now() + 300)
          .sign(rsaPrivate),
    },
    {
      name: "wrong algorithm: HS512 with the right secret",
      token: () =>
        new SignJWT(GOOD)
          .setProtectedHeader({ alg: "HS512" })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime(now() + 300)
          .sign(enc(SECRET)),
    },
    {
      name: "key confusion: HS256 signed with an RSA public key as the secret",
      token: () => hs({ key: enc(rsaPublicPem) }),
    },
    { name: "wrong issuer", token: () => hs({ iss: "https://evil.example.com/" }) },
    { name: "no issuer", token: () => hs({ iss: null }) },
    { name: "wrong audience", token: () => hs({ aud: "another-api" }) },
    { name: "no audience", token: () => hs({ aud: null }) },
    { name: "missing tenant claim", token: () => hs({ claims: { roles: ["admin"], sub: "u" } }) },
    { name: "tenant claim not a string", token: () => hs({ claims: { ...GOOD, tenant: ["a"] } }) },
    {
      name: "tenant claim with characters outside the tenant alphabet",
      token: () => hs({ claims: { ...GOOD, tenant: "acme/../globex" } }),
    },
    { name: "empty tenant claim", token: () => hs({ claims: { ...GOOD, tenant: "" } }) },
    { name: "not a JWT at all", token: () => "not-a-token" },
    { name: "two segments", token: () => `${b64({ alg: "HS256" })}.${b64(payload())}` },
    { name: "header not JSON", token: () => `bm90LWpzb24.${b64(payload())}.c2ln` },
    {
      name: "crit header the server does not understand (right secret)",
      token: () => {
        const signing = `${b64({ alg: "HS256", crit: ["x-custom"], "x-custom": 1 })}.${b64(payload())}`;
        const sig = createHmac("sha256", SECRET).update(signing).digest("base64url");
        return `${signing}.${sig}`;
      },
    },
  ];

  it.each(CORPUS)("$name -> 401", async (c) => {
    const reply = await call(h.service.app, {
      method: "GET",
      url: "/sagas/",
      headers: bearer(await c.token()),
    });
    expectError(reply, 401, c.code ?? "INVALID_TOKEN");
  });

  it("a write with a corpus token changes nothing", async () => {
    const before = (await h.service.orchestrator.list({ tenantId: "acme", limit: 1000 })).items;
    for (const c of CORPUS) {
      const reply = await call(h.service.app, {
        method: "POST",
        url: "/sagas/start",
        headers: bearer(await c.token()),
        payload: { saga_type: "demo_order", input: {} },
      });
      expect(reply.status, c.name).toBe(401);
    }
    const after = (await h.service.orchestrator.list({ tenantId: "acme", limit: 1000 })).items;
    expect(after).toHaveLength(before.length);
  });

  it("the well-formed token is accepted (the corpus fails for its flaw, not the setup)", async () => {
    const reply = await call(h.service.app, {
      method: "GET",
      url: "/sagas/",
      headers: bearer(await hs()),
    });
    expect(reply.status).toBe(200);
  });
});

describe("JWT corpus against a JWKS server (RS256 keys served on loopback)", () => {
  let server: Server;
  let url: string;
  let signer: PrivateKey;
  let otherSigner: PrivateKey;
  let publicPem: string;
  let authenticate: (headers: Record<string, string>) => Promise<unknown>;

  beforeAll(async () => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    signer = pair.privateKey;
    publicPem = await exportSPKI(pair.publicKey);
    otherSigner = (await generateKeyPair("RS256")).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    const authenticator = createAuthenticator(
      loadConfig({ JWT_JWKS_URL: url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE }),
    );
    authenticate = (headers) =>
      authenticator.authenticate({ headers } as unknown as FastifyRequest);
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  const rs = (key: () => PrivateKey, claims: Record<string, unknown> = GOOD, kid = "k1") =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(now() + 300)
      .sign(key());

  const status = async (token: string): Promise<number> => {
    try {
      await authenticate(bearer(token));
      return 200;
    } catch (error) {
      if (error instanceof HttpError) return error.statusCode;
      throw error;
    }
  };

  it("accepts a token signed by the published key", async () => {
    expect(await status(await rs(() => signer))).toBe(200);
  });

  it.each([
    ["forged: signed by another RSA key", () => rs(() => otherSigner)],
    [
      "wrong key type: HS256 signed with the public key PEM (alg confusion)",
      () => hs({ key: enc(publicPem) }),
    ],
    ["wrong key type: HS256 with any secret", () => hs()],
    ["alg none", () => Promise.resolve(unsignedToken(payload()))],
    ["missing tenant", () => rs(() => signer, { roles: ["admin"] })],
    ["unknown kid", () => rs(() => signer, GOOD, "k2")],
    [
      "expired",
      () =>
        new SignJWT(GOOD)
          .setProtectedHeader({ alg: "RS256", kid: "k1" })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime(now() - 120)
          .sign(signer),
    ],
    [
      "wrong issuer",
      () =>
        new SignJWT(GOOD)
          .setProtectedHeader({ alg: "RS256", kid: "k1" })
          .setIssuer("https://evil.example.com/")
          .setAudience(AUDIENCE)
          .setExpirationTime(now() + 300)
          .sign(signer),
    ],
  ])("%s -> 401", async (_name, token) => {
    expect(await status(await token())).toBe(401);
  });
});
