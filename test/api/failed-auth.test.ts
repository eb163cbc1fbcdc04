import { describe, expect, it } from "vitest";
import { useService } from "./support/service.js";

const KEY = "right-key-0123456789abcdef";
const h = useService(
  { API_KEY: KEY, REQUIRE_API_KEY: "true", SAGA_RATE_LIMIT_PER_MINUTE: "100" },
  { store: "postgres" },
);
const service = {
  get app() {
    return h.service.app;
  },
};

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

describe("failed authentications without TRUST_PROXY", () => {
  it("count by socket address: a rotating X-Forwarded-For does not escape the limit", async () => {
    const attempt = (i: number) =>
      service.app.inject({
        url: "/sagas/",
        headers: { "x-api-key": `guess-${i}`, "x-forwarded-for": `203.0.113.${i}` },
        remoteAddress: "10.9.8.20",
      });
    for (let i = 0; i < 10; i++) expect((await attempt(i)).statusCode).toBe(401);
    expect((await attempt(11)).statusCode).toBe(429);
  });
});

describe("failed authentications with TRUST_PROXY=10.0.0.1 (a known proxy)", () => {
  const h = useService(
    { API_KEY: KEY, SAGA_RATE_LIMIT_PER_MINUTE: "100", TRUST_PROXY: "10.0.0.1" },
    { store: "postgres" },
  );
  const attempt = (key: string, client: string, proxy = "10.0.0.1") =>
    h.service.app.inject({
      url: "/sagas/",
      headers: { "x-api-key": key, "x-forwarded-for": client },
      remoteAddress: proxy,
    });

  it("count by the client the proxy names, so one client behind it cannot lock out the others", async () => {
    for (let i = 0; i < 10; i++)
      expect((await attempt(`guess-${i}`, "198.51.100.1")).statusCode).toBe(401);
    expect((await attempt(KEY, "198.51.100.1")).statusCode).toBe(429);
    expect((await attempt(KEY, "198.51.100.2")).statusCode).toBe(200);
  });

  it("ignore X-Forwarded-For from an address that is not the proxy", async () => {
    for (let i = 0; i < 10; i++)
      expect((await attempt(`guess-${i}`, `198.51.100.${50 + i}`, "10.7.7.7")).statusCode).toBe(
        401,
      );
    expect((await attempt(KEY, "198.51.100.99", "10.7.7.7")).statusCode).toBe(429);
  });
});
