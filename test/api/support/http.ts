import type { FastifyInstance, InjectOptions } from "fastify";
import { expect } from "vitest";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  text: string;
  /** The parsed JSON body (undefined when the body is not JSON). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  body: any;
}

const STACK_PATTERNS = [/ {4}at /, /\n\s*at .+\(.+:\d+:\d+\)/, /\.ts:\d*/, /\.[cm]?js:\d+/];

/**
 * Asserts what every error answer must look like: JSON `{ error: { code, message, details? } }`
 * and no stack trace or source location anywhere in the body.
 */
export function assertErrorBody(reply: Reply): void {
  const where = `${reply.status} ${reply.text.slice(0, 300)}`;
  for (const pattern of STACK_PATTERNS) expect(reply.text, where).not.toMatch(pattern);
  expect(String(reply.headers["content-type"]), where).toMatch(/^application\/json/);
  expect(reply.body, where).toBeTypeOf("object");
  expect(Object.keys(reply.body as object), where).toEqual(["error"]);
  const error = (reply.body as { error: Record<string, unknown> }).error;
  expect(error.code, where).toMatch(/^[A-Z][A-Z0-9_]+$/);
  expect(error.message, where).toBeTypeOf("string");
  expect((error.message as string).length, where).toBeGreaterThan(0);
  expect(
    Object.keys(error).filter((k) => !["code", "message", "details"].includes(k)),
    where,
  ).toEqual([]);
}

/** `app.inject` that checks the shape of every 4xx/5xx answer on the way (see assertErrorBody). */
export async function call(app: FastifyInstance, options: InjectOptions): Promise<Reply> {
  const res = await app.inject(options);
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    body = undefined;
  }
  const reply: Reply = { status: res.statusCode, headers: res.headers, text: res.body, body };
  if (reply.status >= 400) assertErrorBody(reply);
  return reply;
}

/** Asserts an error answer's status and code. */
export function expectError(reply: Reply, status: number, code?: string): void {
  const where = `${reply.status} ${reply.text.slice(0, 300)}`;
  expect(reply.status, where).toBe(status);
  assertErrorBody(reply);
  if (code !== undefined) expect(reply.body.error.code, where).toBe(code);
}
