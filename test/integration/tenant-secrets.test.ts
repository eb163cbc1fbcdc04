import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { secretsCommand } from "../../src/cli/secrets.js";
import { loadConfig } from "../../src/config/config.js";
import { ErrorCodes, toErrorInfo } from "../../src/core/errors.js";
import { createService, type Service } from "../../src/service.js";
import { executeHttpStep } from "../../src/steps/http/http-step.js";
import { createScrubber, REDACTED } from "../../src/steps/http/secrets.js";
import { createSsrfGuard } from "../../src/steps/http/ssrf-guard.js";
import { createSecretCipher, parseSecretsKey } from "../../src/steps/secrets/cipher.js";
import { loadPlatformSecrets } from "../../src/steps/secrets/platform-secrets.js";
import { TenantSecrets } from "../../src/steps/secrets/tenant-secrets.js";
import { SqlSecretStore } from "../../src/store/sql-secret-store.js";
import { sqlClientOf } from "../../src/store/sql-client-of.js";
import { storeKinds } from "../helpers/stores.js";

const KEY = randomBytes(32).toString("base64");
const kinds = storeKinds();
/** PGlite's start (initdb) is slow on a loaded 2-core machine. */
const SLOW = { timeout: 180_000 };

describe("the scrubber removes every fragment of a secret, in every encoding", () => {
  const SECRET = 's3cr3t-Value/+=&"é-0123456789';
  const scrub = createScrubber([SECRET]);
  const b = Buffer.from(SECRET);
  it.each([
    ["raw", SECRET],
    ["a 6-character fragment", SECRET.slice(7, 13)],
    ["cut at the start", SECRET.slice(0, 9)],
    ["URL-encoded", encodeURIComponent(SECRET)],
    ["form-encoded", new URLSearchParams({ t: SECRET }).toString()],
    ["JSON-escaped", JSON.stringify(SECRET)],
    ["JSON-escaped twice", JSON.stringify(JSON.stringify(SECRET))],
    ["base64", b.toString("base64")],
    ["base64 after a prefix of 1 byte", Buffer.concat([Buffer.from("x"), b]).toString("base64")],
    ["base64 after a prefix of 2 bytes", Buffer.concat([Buffer.from("xy"), b]).toString("base64")],
    ["base64url", Buffer.from(`Basic ${SECRET}`).toString("base64url")],
    ["hex", b.toString("hex")],
    ["HEX", b.toString("hex").toUpperCase()],
    [
      "\\u-escaped",
      SECRET.split("")
        .map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
        .join(""),
    ],
  ])("%s", (_name, form) => {
    const text = `before ${form} after`;
    const out = scrub.text(text);
    expect(out).toContain(REDACTED);
    expect(out.startsWith("before ")).toBe(true);
    expect(out.endsWith(" after")).toBe(true);
    expect(out).not.toContain(form);
  });

  it("leaves other text alone, and cleans errors (message, details, no cause)", () => {
    expect(scrub.text("nothing secret here, 0123")).toBe("nothing secret here, 0123");
    const error = scrub.error(
      Object.assign(new Error(`bad ${SECRET}`), { code: "X", details: { b: SECRET.slice(3) } }),
    );
    expect(JSON.stringify(toErrorInfo(error))).not.toContain(SECRET.slice(3, 9));
    expect(error.cause).toBeUndefined();
  });
});

describe("platform secrets come from a file or folder, never the environment", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "saga-platform-secrets-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a folder (one file per secret), a JSON file and a NAME=value file", async () => {
    writeFileSync(join(dir, "FROM_DIR"), "dir-value-123\n");
    writeFileSync(join(dir, "s.json"), JSON.stringify({ FROM_JSON: "json-value-123" }));
    writeFileSync(join(dir, "s.env"), "# comment\nFROM_ENV_FILE='env-value-123'\n");
    process.env.NOT_A_SECRET = "environment-value";
    try {
      const folder = await loadPlatformSecrets({ file: join(dir, "s.json"), dir });
      expect(await folder.source("FROM_DIR")).toBe("dir-value-123");
      expect(await folder.source("FROM_JSON")).toBe("json-value-123");
      expect(await folder.source("NOT_A_SECRET")).toBeUndefined();
      expect(await folder.source("../s.json")).toBeUndefined();
      const envFile = await loadPlatformSecrets({ file: join(dir, "s.env"), dir: null });
      expect(await envFile.source("FROM_ENV_FILE")).toBe("env-value-123");
      const none = await loadPlatformSecrets({ file: null, dir: null });
      expect(await none.source("NOT_A_SECRET")).toBeUndefined();
      expect(await none.source("PATH")).toBeUndefined();
    } finally {
      delete process.env.NOT_A_SECRET;
    }
    await expect(loadPlatformSecrets({ file: join(dir, "missing"), dir: null })).rejects.toThrow(
      /SAGA_SECRETS_FILE/,
    );
    await expect(loadPlatformSecrets({ file: null, dir: join(dir, "nope") })).rejects.toThrow(
      /SAGA_SECRETS_DIR/,
    );
  });

  it("a step of a tenant's definition is refused a platform secret at dispatch too", async () => {
    const error = await executeHttpStep(
      { service: "api", headers: { X: "{{secrets.TOKEN}}" } },
      {
        sagaId: "s",
        sagaName: "n",
        tenantId: "acme",
        input: {},
        results: {},
        idempotencyKey: "s:x",
        signal: new AbortController().signal,
        correlationId: null,
      },
      {
        serviceUrls: { api: "http://127.0.0.1:9" },
        secrets: () => "platform-token-value",
        transport: { guard: createSsrfGuard({ serviceUrls: ["http://127.0.0.1:9"] }) },
      },
      { platform: false },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: ErrorCodes.SAGA_PLATFORM_SECRET_FORBIDDEN,
      retryable: false,
    });
  });
});

describe("sealing tenant secrets", () => {
  it("binds the ciphertext to tenant and name; without a key, stores plain", () => {
    const cipher = createSecretCipher(parseSecretsKey(KEY));
    const sealed = cipher.seal("acme", "TOKEN", "value-12345678");
    expect(sealed.startsWith("v1.")).toBe(true);
    expect(sealed).not.toContain("value-12345678");
    expect(cipher.open("acme", "TOKEN", sealed)).toBe("value-12345678");
    expect(() => cipher.open("globex", "TOKEN", sealed)).toThrow(/cannot be read/);
    expect(() => cipher.open("acme", "OTHER", sealed)).toThrow(/cannot be read/);
    const other = createSecretCipher(parseSecretsKey(randomBytes(32).toString("hex")));
    expect(() => other.open("acme", "TOKEN", sealed)).toThrow(/cannot be read/);
    expect(createSecretCipher(null).seal("acme", "TOKEN", "v-12345678")).toBe("plain.v-12345678");
    expect(() => parseSecretsKey("short")).toThrow(/32 bytes/);
    expect(() => loadConfig({ SAGA_SECRETS_KEY: "short" })).toThrow(/SAGA_SECRETS_KEY/);
  });
});

describe.each(kinds)("tenant secrets on $name", (kind) => {
  it("are kept per tenant, listed by name, deleted, and sealed at rest", SLOW, async () => {
    const store = await kind.open();
    try {
      await store.migrate();
      const secrets = new TenantSecrets(
        new SqlSecretStore(sqlClientOf(store)!),
        createSecretCipher(parseSecretsKey(KEY)),
      );
      const tenant = `t-${randomBytes(4).toString("hex")}`;
      const other = `${tenant}-other`;
      expect(await secrets.set(tenant, "TOKEN", "first-value-1")).toEqual({ created: true });
      expect(await secrets.set(tenant, "TOKEN", "second-value-2")).toEqual({ created: false });
      expect(await secrets.source(tenant, "TOKEN")).toBe("second-value-2");
      expect(await secrets.source(other, "TOKEN")).toBeUndefined();
      expect((await secrets.list(tenant)).map((s) => s.name)).toEqual(["TOKEN"]);
      expect(await secrets.list(other)).toEqual([]);
      const raw = await sqlClientOf(store)!.query<{ sealed: string }>(
        "SELECT sealed FROM saga_tenant_secrets WHERE tenant_id = $1",
        [tenant],
      );
      expect(raw[0]!.sealed).toMatch(/^v1\./);
      expect(raw[0]!.sealed).not.toContain("second");
      await expect(secrets.delete(other, "TOKEN")).rejects.toMatchObject({
        code: ErrorCodes.SAGA_SECRET_NOT_FOUND,
      });
      await secrets.delete(tenant, "TOKEN");
      expect(await secrets.source(tenant, "TOKEN")).toBeUndefined();
      for (const [name, value] of [
        ["bad name", "value-12345678"],
        ["", "value-12345678"],
        ["OK", "short"],
        ["OK", "line\nbreak-1234"],
        ["OK", 42],
      ] as const)
        await expect(secrets.set(tenant, name, value)).rejects.toMatchObject({
          code: ErrorCodes.SAGA_INVALID_SECRET,
        });
    } finally {
      await store.close();
    }
  });
});

describe("the /secrets routes and `saga secrets`", () => {
  let service: Service;
  let store: Awaited<ReturnType<(typeof kinds)[number]["open"]>> | undefined;
  let url = "";
  let dir: string;
  const ADMIN = "admin-key-aaaaaaaaaaaaaaaa";
  const OPERATOR = "operator-key-aaaaaaaaaaaa";
  const VIEWER = "viewer-key-aaaaaaaaaaaaaa";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "saga-secrets-api-"));
    store = await kinds.find((k) => k.name === "postgres")!.open();
    service = await createService(
      loadConfig({
        REQUIRE_API_KEY: "true",
        API_KEYS: `${ADMIN}=acme:admin,${OPERATOR}=acme:operator,${VIEWER}=acme:viewer`,
        SAGA_SECRETS_KEY: KEY,
      }),
      { logger: false, store, builtinDefinitions: null, sagas: [] },
    );
    await service.app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await service?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("only an admin writes, deletes or lists; nothing answers a value", async () => {
    const as = (key: string, method: "PUT" | "DELETE" | "GET", path: string, payload?: object) =>
      service.app.inject({
        method,
        url: path,
        headers: { "x-api-key": key },
        ...(payload ? { payload } : {}),
      });
    for (const key of [VIEWER, OPERATOR]) {
      expect(
        (await as(key, "PUT", "/secrets/X_TOKEN", { value: "value-12345678" })).statusCode,
      ).toBe(403);
      expect((await as(key, "GET", "/secrets")).statusCode).toBe(403);
      expect((await as(key, "DELETE", "/secrets/X_TOKEN")).statusCode).toBe(403);
    }
    expect(
      (await as(ADMIN, "PUT", "/secrets/X_TOKEN", { value: "value-12345678" })).statusCode,
    ).toBe(201);
    const list = await as(ADMIN, "GET", "/secrets");
    expect(list.body).not.toContain("value-12345678");
    expect(list.json()).toMatchObject({ secrets: [{ name: "X_TOKEN" }], encrypted_at_rest: true });
    expect((await as(ADMIN, "PUT", "/secrets/X_TOKEN", { value: "v", extra: 1 })).statusCode).toBe(
      400,
    );
    expect((await as(ADMIN, "DELETE", "/secrets/X_TOKEN")).statusCode).toBe(204);
    expect((await as(ADMIN, "DELETE", "/secrets/X_TOKEN")).statusCode).toBe(404);
  });

  it("the CLI sets (from a file, never the command line), lists names and deletes", async () => {
    const printed: unknown[] = [];
    const print = (json: unknown) => printed.push(json);
    const client = { url, apiKey: ADMIN };
    const file = join(dir, "value");
    writeFileSync(file, "cli-value-12345678\n");
    expect(await secretsCommand(client, ["set", "CLI_TOKEN"], file, print)).toBe(0);
    expect(await secretsCommand(client, ["list"], undefined, print)).toBe(0);
    expect(JSON.stringify(printed)).toContain("CLI_TOKEN");
    expect(JSON.stringify(printed)).not.toContain("cli-value");
    const secrets = await service.app.inject({ url: "/secrets", headers: { "x-api-key": ADMIN } });
    expect(secrets.json()).toMatchObject({ secrets: [{ name: "CLI_TOKEN" }] });
    expect(await secretsCommand(client, ["delete", "CLI_TOKEN"], undefined, print)).toBe(0);
    await expect(secretsCommand(client, ["delete", "CLI_TOKEN"], undefined, print)).rejects.toThrow(
      /SAGA_SECRET_NOT_FOUND/,
    );
    await expect(secretsCommand(client, ["show", "CLI_TOKEN"], undefined, print)).rejects.toThrow(
      /use: saga secrets/,
    );
  });
});
