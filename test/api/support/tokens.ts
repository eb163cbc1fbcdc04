import { SignJWT } from "jose";

export interface TokenOptions {
  /** Seconds from now; negative = already expired; null = no `exp` claim. */
  expiresIn?: number | null;
  alg?: "HS256" | "HS384" | "HS512";
}

/** A JWT signed with `secret` carrying `claims` (e.g. `{ tenant, roles, sub }`). */
export async function signToken(
  secret: string,
  claims: Record<string, unknown>,
  options: TokenOptions = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const expiresIn = options.expiresIn === undefined ? 300 : options.expiresIn;
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? "HS256", typ: "JWT" })
    .setIssuedAt(expiresIn !== null && expiresIn < 0 ? now + expiresIn - 60 : now);
  if (expiresIn !== null) jwt = jwt.setExpirationTime(now + expiresIn);
  return jwt.sign(new TextEncoder().encode(secret));
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** An unsigned token (`alg: none`, empty signature) with a valid-looking payload. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const exp = Math.floor(Date.now() / 1000) + 300;
  return `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ exp, ...claims })}.`;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
