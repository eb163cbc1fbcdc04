import type { Role, SagaStatus, Session } from "./types.js";

export type * from "./types.js";

export const STATUSES: readonly SagaStatus[] = [
  "running",
  "compensating",
  "completed",
  "compensated",
  "failed",
];
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
export const may = (session: Session | null, role: Role) =>
  session !== null && RANK[session.role] >= RANK[role];

/** Credentials for this browser tab only (sessionStorage): an API key or a JWT. */
export interface Credentials {
  kind: "api-key" | "jwt";
  value: string;
}
const KEY = "saga-console.credentials";
export function loadCredentials(): Credentials | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Credentials) : null;
  } catch {
    return null;
  }
}
export function saveCredentials(c: Credentials | null): void {
  if (c) sessionStorage.setItem(KEY, JSON.stringify(c));
  else sessionStorage.removeItem(KEY);
}
export function authHeaders(c: Credentials | null = loadCredentials()): Record<string, string> {
  if (!c) return {};
  return c.kind === "api-key" ? { "x-api-key": c.value } : { authorization: `Bearer ${c.value}` };
}

/** An API error: the server's `{ error: { code, message, details } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => undefined;
export const setUnauthorizedHandler = (f: () => void) => {
  onUnauthorized = f;
};

export async function api<T>(
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  credentials?: Credentials | null,
): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      accept: "application/json",
      ...authHeaders(credentials === undefined ? loadCredentials() : credentials),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string; details?: unknown } })
      ?.error;
    if (response.status === 401 && credentials === undefined) onUnauthorized();
    throw new ApiError(
      response.status,
      error?.code ?? `HTTP_${response.status}`,
      error?.message ?? (text.slice(0, 200) || response.statusText),
      error?.details,
    );
  }
  return json as T;
}

export const query = (params: Record<string, string | undefined | null>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
};
