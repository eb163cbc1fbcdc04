import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SagaError, ErrorCodes } from "../../src/core/errors.js";
import {
  sendHttpRequest,
  type ConnectTarget,
  type HttpRequest,
  type HttpTransport,
  type Resolver,
} from "../../src/steps/http/http-client.js";
import { executeHttpStep } from "../../src/steps/http/http-step.js";
import { classifyAddress } from "../../src/steps/http/ip.js";
import { canonicalHost, createSsrfGuard } from "../../src/steps/http/ssrf-guard.js";

// Only loopback traffic ever leaves this file: the connector below refuses (and records) any
// other target, and every forbidden target must be refused before the connector is called.

describe("canonicalHost and classifyAddress", () => {
  it.each([
    ["127.0.0.1", "127.0.0.1"],
    ["127.1", "127.0.0.1"],
    ["2130706433", "127.0.0.1"],
    ["0x7f000001", "127.0.0.1"],
    ["0177.0.0.1", "127.0.0.1"],
    ["0x7f.1", "127.0.0.1"],
    ["127.0.0.1.", "127.0.0.1"],
    ["%31%32%37.0.0.1", "127.0.0.1"],
    ["[::1]", "::1"],
    ["[::ffff:127.0.0.1]", "127.0.0.1"],
    ["[::ffff:7f00:1]", "127.0.0.1"],
    ["2852039166", "169.254.169.254"],
    ["0xa9fea9fe", "169.254.169.254"],
    ["0251.0376.0251.0376", "169.254.169.254"],
    ["0", "0.0.0.0"],
    ["LocalHost.", "localhost"],
  ])("%s is the host %s", (raw, canonical) => {
    expect(canonicalHost(raw)).toBe(canonical);
  });

  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:0:7f00:1", "loopback"],
    ["::7f00:1", "loopback"],
    ["64:ff9b::7f00:1", "loopback"],
    ["2002:7f00:1::", "loopback"],
    ["169.254.169.254", "metadata"],
    ["::ffff:a9fe:a9fe", "metadata"],
    ["64:ff9b::a9fe:a9fe", "metadata"],
    ["fd00:ec2::254", "metadata"],
    ["100.100.100.200", "metadata"],
    ["169.254.1.1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "private"],
    ["fc00::1", "private"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["255.255.255.255", "reserved"],
    ["2001::1", "reserved"],
    ["8.8.8.8", "public"],
    ["172.32.0.1", "public"],
    ["::ffff:8.8.8.8", "public"],
    ["2606:4700::1111", "public"],
  ])("%s is %s", (address, category) => {
    expect(classifyAddress(address)?.category).toBe(category);
  });
});

describe("the guard's decisions", () => {
  const guard = createSsrfGuard({
    serviceUrls: ["http://127.0.0.1:4010", "http://user-service:8080", "https://api.example.com"],
    allow: ["partner.example.org", "*.hooks.example.net", "10.20.0.0/16"],
  });
  const url = (href: string) => guard.checkUrl(new URL(href)).allowed;
  const at = (hostname: string, port: number, address: string) =>
    guard.checkAddress({ hostname, port, address }).allowed;

  it("a service URL on loopback allows exactly that host:port", () => {
    expect(at("127.0.0.1", 4010, "127.0.0.1")).toBe(true);
    expect(url("http://127.1:4010/x")).toBe(true); // the same host, written otherwise
    expect(at("127.0.0.1", 4011, "127.0.0.1")).toBe(false);
    expect(at("127.0.0.1", 22, "127.0.0.1")).toBe(false);
  });

  it.each([
    "http://localhost:4010/",
    "http://[::1]:4010/",
    "http://127.0.0.2:4010/",
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://10.0.0.1/",
    "http://192.168.0.1/",
    "http://0.0.0.0:4010/",
    "http://evil.example.com/",
    "http://api.example.com.evil.net/",
    "file:///etc/passwd",
    "ftp://127.0.0.1:4010/",
  ])("the host gate refuses %s", (href) => {
    expect(url(href)).toBe(false);
  });

  it("hosts of service URLs, allowlisted names, wildcards and CIDRs pass the host gate", () => {
    expect(url("https://api.example.com/v1")).toBe(true);
    expect(url("https://API.Example.COM./v1")).toBe(true);
    expect(url("https://partner.example.org/")).toBe(true);
    expect(url("https://a.hooks.example.net/")).toBe(true);
    expect(url("https://hooks.example.net/")).toBe(false); // *. is subdomains only
    expect(url("http://10.20.3.4/")).toBe(true);
    expect(url("http://10.21.3.4/")).toBe(false);
  });

  it("a configured hostname may resolve to loopback/private on its own port, never to metadata", () => {
    expect(at("user-service", 8080, "10.0.3.7")).toBe(true);
    expect(at("user-service", 8081, "10.0.3.7")).toBe(false);
    expect(at("user-service", 8080, "169.254.169.254")).toBe(false);
    expect(at("user-service", 8080, "::ffff:169.254.169.254")).toBe(false);
    expect(at("user-service", 8080, "0.0.0.0")).toBe(false);
  });

  it("an allowlisted hostname reaches public addresses only, unless the address is CIDR-allowed", () => {
    expect(at("partner.example.org", 443, "93.184.215.14")).toBe(true);
    expect(at("partner.example.org", 443, "127.0.0.1")).toBe(false);
    expect(at("partner.example.org", 443, "10.0.0.5")).toBe(false);
    expect(at("partner.example.org", 443, "::ffff:10.0.0.5")).toBe(false);
    expect(at("partner.example.org", 443, "64:ff9b::a00:5")).toBe(false);
    expect(at("partner.example.org", 443, "2002:a00:5::1")).toBe(false);
    expect(at("partner.example.org", 443, "10.20.0.5")).toBe(true);
    expect(at("api.example.com", 443, "169.254.169.254")).toBe(false);
    expect(at("api.example.com", 443, "fd00:ec2::254")).toBe(false);
  });

  it("refuses allowlist entries it cannot read", () => {
    expect(() => createSsrfGuard({ serviceUrls: [], allow: ["10.0.0.0/33"] })).toThrow(SagaError);
    expect(() => createSsrfGuard({ serviceUrls: ["not a url"] })).toThrow(/does not parse/);
    expect(() => createSsrfGuard({ serviceUrls: ["ftp://x"] })).toThrow(/http or https/);
  });
});

describe("requests to forbidden destinations fail before any connection", () => {
  let server: Server;
  let port: number;
  let redirectTo = "";
  const attempts: ConnectTarget[] = [];
  const lookups: string[] = [];

  // The fake DNS: names used by the corpus; nothing goes to a real resolver.
  const names: Record<string, { address: string; family: number }[]> = {
    "partner.example.org": [{ address: "10.0.0.7", family: 4 }],
    "metadata.example.org": [{ address: "169.254.169.254", family: 4 }],
    "rebind.example.org": [
      { address: "93.184.215.14", family: 4 },
      { address: "127.0.0.1", family: 4 },
    ],
    "mapped.example.org": [{ address: "::ffff:127.0.0.1", family: 6 }],
    "nat64.example.org": [{ address: "64:ff9b::a9fe:a9fe", family: 6 }],
  };
  const resolve: Resolver = (hostname) => {
    lookups.push(hostname);
    const found = names[hostname];
    return found ? Promise.resolve(found) : Promise.reject(new Error(`ENOTFOUND ${hostname}`));
  };
  // The connector: loopback to our own server only; anything else is recorded and refused.
  const connectHook = (target: ConnectTarget) => {
    attempts.push(target);
    if (target.address !== "127.0.0.1" || target.port !== port)
      throw new Error(`test: a forbidden connection was attempted to ${target.address}`);
    return connect({ host: target.address, port: target.port });
  };
  const transport = (): HttpTransport => ({
    guard: createSsrfGuard({
      serviceUrls: [`http://127.0.0.1:${port}`],
      allow: [
        "partner.example.org",
        "metadata.example.org",
        "rebind.example.org",
        "mapped.example.org",
        "nat64.example.org",
      ],
    }),
    resolve,
    connect: connectHook,
  });
  const request = (href: string): HttpRequest => ({
    method: "GET",
    url: new URL(href),
    headers: {},
    signal: new AbortController().signal,
    timeoutMs: 5_000,
    maxResponseBytes: 1024,
    maxRedirects: 3,
  });
  const refused = async (href: string) => {
    attempts.length = 0;
    const error = await sendHttpRequest(request(href), transport()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SagaError);
    expect(error).toMatchObject({
      code: ErrorCodes.SAGA_HTTP_FORBIDDEN_DESTINATION,
      retryable: false,
    });
    return error as SagaError;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/redirect") res.writeHead(302, { location: redirectTo }).end();
      else res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });

  it("the allowed service itself is reached (the hook lets exactly it through)", async () => {
    attempts.length = 0;
    const response = await sendHttpRequest(request(`http://127.0.0.1:${port}/ok`), transport());
    expect(response).toMatchObject({ status: 200, text: '{"ok":true}' });
    expect(attempts).toEqual([
      { hostname: "127.0.0.1", address: "127.0.0.1", family: 4, port, tls: false },
    ]);
  });

  const loopbackTricks = (p: () => number) => [
    `http://127.0.0.1:${p() + 1}/`,
    `http://127.1:${p() + 1}/`,
    `http://2130706433:${p() + 1}/`,
    `http://0x7f000001:${p() + 1}/`,
    `http://0177.0.0.1:${p() + 1}/`,
    `http://localhost:${p()}/`,
    `http://[::1]:${p()}/`,
    `http://[::ffff:127.0.0.1]:${p() + 1}/`,
    `http://[::ffff:7f00:1]:${p() + 1}/`,
    `http://127.0.0.2:${p()}/`,
  ];
  const corpus = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/latest/meta-data/",
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fd00:ec2::254]/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://partner.example.org/", // resolves to 10.0.0.7
    "http://metadata.example.org/", // resolves to 169.254.169.254
    "http://rebind.example.org/", // one public and one loopback address
    "http://mapped.example.org/", // resolves to ::ffff:127.0.0.1
    "http://nat64.example.org/", // resolves to the metadata address through NAT64
  ];

  it("refuses every loopback trick that is not exactly the service's host:port", async () => {
    for (const href of loopbackTricks(() => port)) await refused(href);
    expect(attempts).toEqual([]);
  });

  it("refuses metadata, private, unspecified and link-local addresses and names resolving to them", async () => {
    lookups.length = 0;
    for (const href of corpus) await refused(href);
    expect(attempts).toEqual([]);
    // The allowlisted names were looked up (the address gate works on resolved addresses)…
    expect(lookups).toEqual([
      "partner.example.org",
      "metadata.example.org",
      "rebind.example.org",
      "mapped.example.org",
      "nat64.example.org",
    ]);
  });

  it("refuses a redirect to any of them after connecting to the allowed service only", async () => {
    for (const target of [...loopbackTricks(() => port), ...corpus]) {
      redirectTo = target;
      const error = await refused(`http://127.0.0.1:${port}/redirect`);
      expect(error.message).toMatch(/destination refused/);
      expect(attempts).toEqual([
        { hostname: "127.0.0.1", address: "127.0.0.1", family: 4, port, tls: false },
      ]);
    }
  });

  it("an http step never connects to a service whose name resolves to a forbidden address", async () => {
    attempts.length = 0;
    const error = await executeHttpStep(
      { service: "partner", path: "/x" },
      {
        sagaId: "s1",
        sagaName: "ssrf",
        tenantId: "t1",
        input: {},
        results: {},
        idempotencyKey: "s1:x",
        signal: new AbortController().signal,
        correlationId: null,
      },
      {
        serviceUrls: { partner: "http://metadata.example.org" },
        secrets: () => undefined,
        transport: {
          ...transport(),
          guard: createSsrfGuard({ serviceUrls: ["http://metadata.example.org"] }),
        },
      },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: ErrorCodes.SAGA_HTTP_FORBIDDEN_DESTINATION,
      retryable: false,
    });
    expect(attempts).toEqual([]);
  });
});
