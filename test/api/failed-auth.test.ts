import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { createService, type Service } from "../../src/service.js";

const KEY = "right-key-0123456789abcdef";
let service: Service;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "saga-bruteforce-"));
  const config = loadConfig({
    SAGA_DATA_DIR: dir,
    API_KEY: KEY,
    REQUIRE_API_KEY: "true",
    SAGA_RATE_LIMIT_PER_MINUTE: "100",
  });
  service = await createService(config, { logger: false, builtinDefinitions: null });
});
afterAll(async () => {
  await service.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("failed authentications", () => {
  it("are limited per address: after 10 failures in a minute the address gets 429 with Retry-After", async () => {
    const attempt = (key: string, ip = "10.9.8.7") =>
      service.app.inject({ url: "/sagas/", headers: { "x-api-key": key }, remoteAddress: ip });
    for (let i = 0; i < 10; i++) expect((await attempt(`guess-${i}`)).statusCode).toBe(401);
    const blocked = await attempt("guess-11");
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json()).toMatchObject({ error: { code: "RATE_LIMITED" } });
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
    // The address is blocked whatever it sends; another address is not.
    expect((await attempt(KEY)).statusCode).toBe(429);
    expect((await attempt(KEY, "10.9.8.8")).statusCode).toBe(200);
    // Public endpoints stay open.
    expect(
      (await service.app.inject({ url: "/health/live", remoteAddress: "10.9.8.7" })).statusCode,
    ).toBe(200);
  });
});
