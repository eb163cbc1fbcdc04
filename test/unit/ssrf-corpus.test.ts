import { ErrorCodes } from "../../src/core/errors.js";
import { createServer, type Server } from "node:http";
import {
  connect,
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
} from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SagaError } from "../../src/core/errors.js";
import {
  sendHttpRequest,
  type ConnectTarget,
  type HttpTransport,
  type Resolver,
} from "../../src/steps/http/http-client.js";
import { executeHttpStep } from "../../src/steps/http/http-step.js";
import { createSsrfGuard } from "../../src/steps/http/ssrf-guard.js";

// The SSRF corpus: hundreds of destinations an attacker may try — as a step's URL, as a redirect
// target and as a callback URL taken from input. Every one must be refused before any socket is
// opened. To prove it, the connector sends ANY connection it is asked for (whatever the address)
// to a loopback trap listener: a guard that let one through would show up as a connection there.

const TRAP_PORT_PLACEHOLDER = "TRAP";

/** Numeric spellings of an IPv4 address the WHATWG URL parser (and old resolvers) accept. */
function spellings(ip: string): string[] {
  const [a, b, c, d] = ip.split(".").map(Number) as [number, number, number, number];
  const n = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
  const oct = (x: number) => `0${x.toString(8)}`;
  const hex = (x: number) => `0x${x.toString(16)}`;
  return [
    ip,
    String(n),
    hex(n),
    `0${n.toString(8)}`,
    [a, b, c, d].map(oct).join("."),
    [a, b, c, d].map(hex).join("."),
    `${a}.${(b << 16) + (c << 8) + d}`,
    `${a}.${b}.${(c << 8) + d}`,
    `${hex(a)}.${oct(b)}.${c}.${d}`,
    `${ip}.`,
  ];
}

const SPECIAL_V4 = [
  "127.0.0.1",
  "127.1.2.3",
  "169.254.169.254",
  "100.100.100.200",
  "10.0.0.1",
  "172.16.0.1",
  "192.168.1.1",
  "100.64.0.1",
  "0.0.0.0",
  "169.254.1.1",
  "224.0.0.1",
  "255.255.255.255",
  "240.0.0.1",
  "198.18.0.1",
  "192.0.2.1",
];

const V6 = [
  "::1",
  "::",
  "::ffff:127.0.0.1",
  "::ffff:7f00:1",
  "0:0:0:0:0:ffff:127.0.0.1",
  "0000:0000:0000:0000:0000:0000:0000:0001",
  "::ffff:169.254.169.254",
  "::ffff:a9fe:a9fe",
  "::ffff:10.0.0.1",
  "::ffff:0:7f00:1",
  "::127.0.0.1",
  "64:ff9b::7f00:1",
  "64:ff9b::a9fe:a9fe",
  "2002:7f00:1::",
  "2002:a9fe:a9fe::1",
  "fe80::1",
  "fe80::1%25eth0",
  "fc00::1",
  "fd12:3456::1",
  "fd00:ec2::254",
  "ff02::1",
  "fec0::1",
  "2001::1",
  "2001:db8::1",
  "100::1",
];

/** Hosts that the URL parser maps to loopback or to names nobody configured. */
const UNICODE_HOSTS = [
  "ⓛⓞⓒⓐⓛⓗⓞⓢⓣ",
  "ＬＯＣＡＬＨＯＳＴ",
  "１２７.０.０.１",
  "127。0。0。1",
  "127．0．0．1",
  "①②⑦.0.0.1",
  "ｌｏｃａｌｈｏｓｔ",
  "localhost",
  "LOCALHOST.",
  "metadata.google.internal",
  "xn--lcalhost-v0a",
  "loсalhost", // Cyrillic "с"
];

const SCHEMES = [
  "file:///etc/passwd",
  "file://localhost/etc/passwd",
  "ftp://127.0.0.1/",
  "gopher://127.0.0.1:6379/_FLUSHALL",
  "dict://127.0.0.1:6379/info",
  "ldap://127.0.0.1/",
  "sftp://127.0.0.1/",
  "tftp://127.0.0.1/",
  "ws://127.0.0.1/",
  "wss://127.0.0.1/",
  "data:text/plain,hello",
  "javascript:alert(1)",
  "jar:http://127.0.0.1!/",
  "blob:http://127.0.0.1/x",
  "netdoc:///etc/passwd",
];

const asciiLocation = (target: string): string => {
  try {
    return new URL(target).href;
  } catch {
    return encodeURI(target);
  }
};

describe("SSRF corpus: every destination refused before any connection", () => {
  let trap: TcpServer;
  let trapPort = 0;
  let trapped = 0;
  let service: Server;
  let servicePort = 0;
  let redirectTo = "";
  const connections: ConnectTarget[] = [];

  // Fake DNS for allowlisted names: each resolves to somewhere it must not reach.
  const dns: Record<string, string[]> = {
    "loop.allowed.example": ["127.0.0.1"],
    "meta.allowed.example": ["169.254.169.254"],
    "alibaba.allowed.example": ["100.100.100.200"],
    "ten.allowed.example": ["10.1.2.3"],
    "cgnat.allowed.example": ["100.64.1.1"],
    "zero.allowed.example": ["0.0.0.0"],
    "v6loop.allowed.example": ["::1"],
    "mapped.allowed.example": ["::ffff:127.0.0.1"],
    "mapped-meta.allowed.example": ["::ffff:169.254.169.254"],
    "nat64.allowed.example": ["64:ff9b::a9fe:a9fe"],
    "sixtofour.allowed.example": ["2002:7f00:1::1"],
    "ula.allowed.example": ["fd00::5"],
    "ec2v6.allowed.example": ["fd00:ec2::254"],
    "linklocal.allowed.example": ["fe80::1"],
    "rebind.allowed.example": ["93.184.215.14", "127.0.0.1"],
    "rebind6.allowed.example": ["2606:4700::1111", "::1"],
    "multicast.allowed.example": ["224.0.0.251"],
    "broadcast.allowed.example": ["255.255.255.255"],
    "private192.allowed.example": ["192.168.0.10"],
    "private172.allowed.example": ["172.31.0.1"],
    // A configured service hostname may resolve privately on its own port, never to metadata.
    "svc.internal": ["169.254.169.254"],
  };
  const resolve: Resolver = (hostname) => {
    const found = dns[hostname];
    return found
      ? Promise.resolve(
          found.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
        )
      : Promise.reject(new Error(`ENOTFOUND ${hostname}`));
  };
  // Every connection the client asks for goes to the trap — except the one allowed service.
  const connectAnywhere = (target: ConnectTarget) => {
    connections.push(target);
    const isService = target.address === "127.0.0.1" && target.port === servicePort;
    return connect({ host: "127.0.0.1", port: isService ? servicePort : trapPort });
  };
  const transport = (): HttpTransport => ({
    guard: createSsrfGuard({
      serviceUrls: [`http://127.0.0.1:${servicePort}`, "http://svc.internal:8080"],
      allow: ["*.allowed.example"],
    }),
    resolve,
    connect: connectAnywhere,
  });
  const send = (href: string) =>
    sendHttpRequest(
      {
        method: "GET",
        url: new URL(href),
        headers: {},
        signal: new AbortController().signal,
        timeoutMs: 5_000,
        maxResponseBytes: 4096,
        maxRedirects: 3,
      },
      transport(),
    );

  beforeAll(async () => {
    trap = createTcpServer((socket) => {
      trapped++;
      socket.destroy();
    });
    await new Promise<void>((done) => trap.listen(0, "127.0.0.1", done));
    trapPort = (trap.address() as AddressInfo).port;
    service = createServer((req, res) => {
      // Header values are latin-1 on the wire: a Unicode host goes out as the URL parser writes it.
      if (req.url === "/redirect")
        res.writeHead(302, { location: asciiLocation(redirectTo) }).end();
      else res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    await new Promise<void>((done) => service.listen(0, "127.0.0.1", done));
    servicePort = (service.address() as AddressInfo).port;
  });
  afterAll(async () => {
    service.closeAllConnections();
    await new Promise((done) => service.close(done));
    await new Promise((done) => trap.close(done));
    // The trap saw nothing, over the whole file.
    expect(trapped).toBe(0);
  });

  /** The corpus of destination URLs (the trap port stands in for "a port something listens on"). */
  const corpus = (): string[] => {
    const urls: string[] = [];
    for (const ip of SPECIAL_V4)
      for (const host of spellings(ip)) urls.push(`http://${host}:${TRAP_PORT_PLACEHOLDER}/`);
    for (const ip of V6) urls.push(`http://[${ip}]:${TRAP_PORT_PLACEHOLDER}/`);
    for (const host of UNICODE_HOSTS) urls.push(`http://${host}:${TRAP_PORT_PLACEHOLDER}/`);
    urls.push(...SCHEMES);
    for (const name of Object.keys(dns)) urls.push(`http://${name}:${TRAP_PORT_PLACEHOLDER}/`);
    urls.push(
      // userinfo tricks: the host is what follows the last "@"
      `http://127.0.0.1:${"SERVICE"}@169.254.169.254/`,
      `http://allowed.example@127.0.0.1:${TRAP_PORT_PLACEHOLDER}/`,
      `http://user:pass@10.0.0.1/`,
      `http://a.allowed.example:x@localhost:${TRAP_PORT_PLACEHOLDER}/`,
      `http://127.0.0.1:${TRAP_PORT_PLACEHOLDER}#@a.allowed.example/`,
      `http://loop.allowed.example@[::1]:${TRAP_PORT_PLACEHOLDER}/`,
      // ports: the service host, but not the service's port
      `http://127.0.0.1:${TRAP_PORT_PLACEHOLDER}/`,
      "http://127.0.0.1:22/",
      "http://127.0.0.1:6379/",
      "http://127.0.0.1:5432/",
      "http://127.0.0.1:80/",
      "https://127.0.0.1/",
      "http://svc.internal:8080/", // its own port, but it resolves to metadata
      "http://svc.internal:8081/",
      // names nobody allowed
      "http://evil.example.com/",
      "http://allowed.example/", // "*." is subdomains only
      "http://a.allowed.example.evil.net/",
      "http://169.254.169.254.nip.io/",
      "http://[::ffff:127.0.0.1]/",
    );
    return urls.map((u) =>
      u
        .replaceAll(TRAP_PORT_PLACEHOLDER, String(trapPort))
        .replaceAll("SERVICE", String(servicePort)),
    );
  };
  const parseable = (href: string) => {
    try {
      new URL(href);
      return true;
    } catch {
      return false;
    }
  };

  it("holds at least 200 destinations, each refused as a request with no connection", async () => {
    const urls = corpus().filter(parseable);
    expect(urls.length).toBeGreaterThanOrEqual(200);
    const leaked: string[] = [];
    for (const href of urls) {
      connections.length = 0;
      const error = await send(href).catch((e: unknown) => e);
      const code = (error as SagaError).code;
      if (code !== ErrorCodes.SAGA_HTTP_FORBIDDEN_DESTINATION || connections.length > 0)
        leaked.push(`${href} -> ${code ?? "answered"} (${connections.length} connections)`);
    }
    expect(leaked).toEqual([]);
    expect(trapped).toBe(0);
  });

  it("each is refused as a redirect target of an allowed service, after the one allowed hop", async () => {
    const urls = [...corpus(), "http://[::1", "http://%zz/"];
    expect(urls.length).toBeGreaterThanOrEqual(200);
    const leaked: string[] = [];
    for (const target of urls) {
      redirectTo = target;
      connections.length = 0;
      const error = await send(`http://127.0.0.1:${servicePort}/redirect`).catch((e: unknown) => e);
      const code = (error as SagaError).code;
      const refusedCode =
        code === ErrorCodes.SAGA_HTTP_FORBIDDEN_DESTINATION ||
        code === ErrorCodes.SAGA_HTTP_REDIRECT_REFUSED;
      const onlyService = connections.every(
        (c) => c.address === "127.0.0.1" && c.port === servicePort,
      );
      if (!refusedCode || !onlyService || connections.length !== 1)
        leaked.push(`${target} -> ${code ?? "answered"} (${connections.length} connections)`);
    }
    expect(leaked).toEqual([]);
    expect(trapped).toBe(0);
  });

  it("each is refused as a callback URL taken from input, at dispatch, before the request is sent", async () => {
    const urls = corpus().filter(parseable);
    const leaked: string[] = [];
    for (const href of urls) {
      connections.length = 0;
      const error = await executeHttpStep(
        {
          service: "api",
          method: "POST",
          path: "/webhooks",
          body: { notification_url: "{{input.webhook_url}}" },
          callback_urls: ["body.notification_url"],
        },
        {
          sagaId: "s1",
          sagaName: "ssrf",
          tenantId: "t1",
          input: { webhook_url: href },
          results: {},
          idempotencyKey: "s1:x",
          signal: new AbortController().signal,
          correlationId: null,
        },
        {
          serviceUrls: { api: `http://127.0.0.1:${servicePort}` },
          secrets: () => undefined,
          transport: transport(),
        },
      ).catch((e: unknown) => e);
      const code = (error as SagaError).code;
      if (code !== ErrorCodes.SAGA_HTTP_FORBIDDEN_DESTINATION || connections.length > 0)
        leaked.push(`${href} -> ${code ?? "sent"} (${connections.length} connections)`);
    }
    expect(leaked).toEqual([]);
    expect(trapped).toBe(0);
  });

  it("an allowed callback URL passes and the request is sent", async () => {
    dns["ok.allowed.example"] = ["93.184.215.14"];
    connections.length = 0;
    const result = await executeHttpStep(
      {
        service: "api",
        method: "POST",
        path: "/webhooks",
        body: { notification_url: "{{input.webhook_url}}" },
        callback_urls: ["body.notification_url"],
      },
      {
        sagaId: "s1",
        sagaName: "ssrf",
        tenantId: "t1",
        input: { webhook_url: "https://ok.allowed.example/hook" },
        results: {},
        idempotencyKey: "s1:x",
        signal: new AbortController().signal,
        correlationId: null,
      },
      {
        serviceUrls: { api: `http://127.0.0.1:${servicePort}` },
        secrets: () => undefined,
        transport: transport(),
      },
    );
    expect(result).toEqual({ ok: true });
    expect(connections.map((c) => c.port)).toEqual([servicePort]);
  });
});
