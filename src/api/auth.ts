import { ErrorCodes } from "../core/errors.js";
import { timingSafeEqual, createHash } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { Role, ServiceConfig } from "../config/config.js";
import { HttpError } from "./http-errors.js";

/** Who is calling: their tenant and role. Every saga call is scoped to `tenantId`. */
export interface Principal {
  tenantId: string;
  role: Role;
  /** For logs and rate limits: the key's fingerprint or the token's subject. */
  subject: string;
  via: "api-key" | "jwt" | "anonymous";
}

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface Authenticator {
  /** Resolves the caller, or throws 401. Null only when anonymous access is allowed and no credentials came. */
  authenticate(request: FastifyRequest): Promise<Principal>;
}

/**
 * API keys (`X-API-Key`) and JWT bearer tokens (HS256 secret or a JWKS URL). Credentials that are
 * sent are always checked. Fails closed: without credentials a request is refused, unless the
 * configuration allows anonymous access (no credential configured, loopback bind, not
 * production: see `AuthConfig.anonymousAccess`), where it is admin of tenant `default`.
 */
export function createAuthenticator(config: ServiceConfig): Authenticator {
  const keys = [
    ...(config.apiKey ? [{ key: config.apiKey, tenantId: "default", role: "admin" as Role }] : []),
    ...config.apiKeys,
  ].map((k) => ({ ...k, digest: digest(k.key) }));
  const jwtConfigured = config.jwt.secret !== null || config.jwt.jwksUrl !== null;
  const anonymousAllowed = config.anonymousAccess && keys.length === 0 && !jwtConfigured;
  const secret = config.jwt.secret ? new TextEncoder().encode(config.jwt.secret) : null;
  const jwks: JWTVerifyGetKey | null = config.jwt.jwksUrl
    ? createRemoteJWKSet(new URL(config.jwt.jwksUrl))
    : null;

  const fromApiKey = (presented: string): Principal => {
    const d = digest(presented);
    const match = keys.find((k) => timingSafeEqual(k.digest, d));
    if (!match) throw new HttpError(401, ErrorCodes.INVALID_API_KEY, "the API key is not valid");
    return {
      tenantId: match.tenantId,
      role: match.role,
      subject: `key:${d.toString("hex").slice(0, 12)}`,
      via: "api-key",
    };
  };

  const fromJwt = async (token: string): Promise<Principal> => {
    if (!jwtConfigured)
      throw new HttpError(
        401,
        ErrorCodes.INVALID_TOKEN,
        "bearer tokens are not accepted by this server",
      );
    const options = {
      ...(config.jwt.issuer ? { issuer: config.jwt.issuer } : {}),
      ...(config.jwt.audience ? { audience: config.jwt.audience } : {}),
      requiredClaims: ["exp"],
    };
    let payload: Record<string, unknown>;
    try {
      payload = secret
        ? (await jwtVerify(token, secret, { ...options, algorithms: ["HS256"] })).payload
        : (
            await jwtVerify(token, jwks!, {
              ...options,
              algorithms: ["RS256", "PS256", "ES256", "EdDSA"],
            })
          ).payload;
    } catch (error) {
      const expired = error instanceof joseErrors.JWTExpired;
      throw new HttpError(
        401,
        expired ? ErrorCodes.TOKEN_EXPIRED : ErrorCodes.INVALID_TOKEN,
        expired ? "the token has expired" : "the token is not valid",
      );
    }
    const tenant = payload[config.jwt.tenantClaim];
    if (typeof tenant !== "string" || !/^[A-Za-z0-9_.-]{1,100}$/.test(tenant)) {
      throw new HttpError(
        401,
        ErrorCodes.INVALID_TOKEN,
        `the token has no valid "${config.jwt.tenantClaim}" claim`,
      );
    }
    const claimed = payload[config.jwt.rolesClaim];
    const roles = (Array.isArray(claimed) ? claimed : [claimed]).filter(
      // Object.hasOwn, not `in`: "constructor" or "toString" must not pass for a role.
      (r): r is Role => typeof r === "string" && Object.hasOwn(RANK, r),
    );
    if (roles.length === 0)
      throw new HttpError(
        403,
        ErrorCodes.FORBIDDEN,
        `the token grants none of the roles viewer, operator, admin`,
      );
    const role = roles.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
    const subject = typeof payload.sub === "string" ? payload.sub : "unknown";
    return { tenantId: tenant, role, subject: `jwt:${subject}`, via: "jwt" };
  };

  return {
    async authenticate(request) {
      const apiKey = request.headers["x-api-key"];
      if (typeof apiKey === "string" && apiKey.length > 0) return fromApiKey(apiKey);
      const authorization = request.headers.authorization;
      if (typeof authorization === "string" && authorization.length > 0) {
        const match = /^Bearer\s+(\S+)$/i.exec(authorization);
        if (!match)
          throw new HttpError(
            401,
            ErrorCodes.INVALID_TOKEN,
            "Authorization must be 'Bearer <token>'",
          );
        return fromJwt(match[1]!);
      }
      if (anonymousAllowed)
        return { tenantId: "default", role: "admin", subject: "anonymous", via: "anonymous" };
      throw new HttpError(
        401,
        ErrorCodes.UNAUTHORIZED,
        "send an X-API-Key header or an Authorization: Bearer token",
      );
    },
  };
}

/** A preHandler that requires at least `role`. */
export function requireRole(role: Role) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const principal = request.principal;
    if (!principal) throw new HttpError(401, ErrorCodes.UNAUTHORIZED, "authentication required");
    const rank = Object.hasOwn(RANK, principal.role) ? RANK[principal.role] : 0;
    if (rank < RANK[role]) {
      throw new HttpError(
        403,
        ErrorCodes.FORBIDDEN,
        `this needs the ${role} role; you have ${principal.role}`,
      );
    }
    return Promise.resolve();
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
