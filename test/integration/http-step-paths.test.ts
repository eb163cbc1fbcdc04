import { ErrorCodes } from "../../src/core/errors.js";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SagaError } from "../../src/core/errors.js";
import type { ConnectTarget } from "../../src/steps/http/http-client.js";
import { executeHttpStep, type HttpStepDeps } from "../../src/steps/http/http-step.js";
import type { HttpStepSpec } from "../../src/steps/http/spec.js";
import { createSsrfGuard } from "../../src/steps/http/ssrf-guard.js";

// Path placeholders: a value is one percent-encoded segment (or part of one). It can never make
// a "." or ".." segment, add a "/", "?" or "#", or leave the literal prefix of the templated path —
// the `..` in `base_id` that reached another endpoint of the connector with the platform's token.

describe("path placeholders cannot leave their templated prefix", () => {
  let server: Server;
  let base = "";
  const seen: string[] = [];
  const connections: ConnectTarget[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.url ?? "");
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const deps = (): HttpStepDeps => ({
    serviceUrls: { airtable: base },
    secrets: (name) => (name === "AIRTABLE_TOKEN" ? "platform-token-0123456789" : undefined),
    transport: {
      guard: createSsrfGuard({ serviceUrls: [base] }),
      connect: (target) => {
        connections.push(target);
        return connect({ host: target.address, port: target.port });
      },
    },
  });
  const run = (spec: HttpStepSpec, input: Record<string, unknown>) =>
    executeHttpStep(
      spec,
      {
        sagaId: "s-1",
        sagaName: "airtable_integration",
        tenantId: "acme",
        input,
        results: {},
        idempotencyKey: "s-1:x",
        signal: new AbortController().signal,
        correlationId: null,
      },
      deps(),
      { platform: true },
    );
  const access: HttpStepSpec = {
    service: "airtable",
    path: "/bases/{{input.base_id}}/access",
    headers: { Authorization: "Bearer {{secrets.AIRTABLE_TOKEN}}" },
  };

  it.each([
    ["..", { base_id: ".." }],
    [".", { base_id: "." }],
    ["two placeholders making ..", { a: ".", b: "." }],
    ["text and a placeholder making ..", { c: "." }],
  ])("refuses a dot segment: %s", async (_name, input) => {
    seen.length = 0;
    connections.length = 0;
    const spec =
      "a" in input
        ? { ...access, path: "/bases/{{input.a}}{{input.b}}/access" }
        : "c" in input
          ? { ...access, path: "/bases/.{{input.c}}/access" }
          : access;
    const error = (await run(spec, input).catch((e: unknown) => e)) as SagaError;
    expect(error).toMatchObject({ code: ErrorCodes.SAGA_HTTP_PATH_TRAVERSAL, retryable: false });
    expect(connections).toEqual([]);
    expect(seen).toEqual([]);
  });

  it.each([
    ["../../admin", "/api/v1/bases/..%2F..%2Fadmin/access"],
    ["..\\..\\admin", "/api/v1/bases/..%5C..%5Cadmin/access"],
    ["%2e%2e", "/api/v1/bases/%252e%252e/access"],
    [".%2E", "/api/v1/bases/.%252E/access"],
    ["%2e", "/api/v1/bases/%252e/access"],
    ["...", "/api/v1/bases/.../access"],
    ["a/../../b", "/api/v1/bases/a%2F..%2F..%2Fb/access"],
    ["x?admin=1", "/api/v1/bases/x%3Fadmin%3D1/access"],
    ["x#frag", "/api/v1/bases/x%23frag/access"],
    ["//evil.example.com", "/api/v1/bases/%2F%2Fevil.example.com/access"],
    ["http://evil.example.com/", "/api/v1/bases/http%3A%2F%2Fevil.example.com%2F/access"],
    ["app\u0000x", "/api/v1/bases/app%00x/access"],
    ["ａｐｐ", "/api/v1/bases/%EF%BD%81%EF%BD%90%EF%BD%90/access"],
    ["．．", "/api/v1/bases/%EF%BC%8E%EF%BC%8E/access"],
    ["app1 2", "/api/v1/bases/app1%202/access"],
  ])("encodes %j as one segment under the prefix", async (value, expected) => {
    seen.length = 0;
    await run(access, { base_id: value });
    expect(seen).toEqual([expected]);
  });

  it("a value that is not a string is encoded too (JSON)", async () => {
    seen.length = 0;
    await run(access, { base_id: { "..": ["/"] } });
    expect(seen).toEqual([`/api/v1/bases/${encodeURIComponent('{"..":["/"]}')}/access`]);
  });

  it("a literal dot segment written in the definition itself is refused too", async () => {
    const error = (await run({ ...access, path: "/bases/../admin" }, {}).catch(
      (e: unknown) => e,
    )) as SagaError;
    expect(error.code).toBe(ErrorCodes.SAGA_HTTP_PATH_TRAVERSAL);
  });
});
