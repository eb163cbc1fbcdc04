import { BlockList, isIP } from "node:net";
import { ErrorCodes, SagaError } from "../../core/errors.js";
import { classifyAddress, embeddedIPv4, stripAddress } from "./ip.js";

/**
 * Where `http` steps may connect. Two gates, both applied to every request and every redirect:
 *
 * 1. The host gate (before any DNS lookup): the URL's host must be the host of a configured
 *    service URL, an allowlisted hostname (`api.airtable.com`, `*.example.com`), or an IP
 *    address inside an allowlisted address/CIDR. Numeric forms are normalised first
 *    (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1` are all `127.0.0.1`).
 * 2. The address gate (on the resolved address of every connection, before the socket is
 *    opened): a public address passes. A special one — loopback, private, link-local, cloud
 *    metadata (169.254.169.254, fd00:ec2::254…), unspecified, multicast, reserved, or an IPv6 address embedding
 *    one (`::ffff:127.0.0.1`, NAT64, 6to4) — passes only when it is explicitly allowed:
 *    - it lies in an allowlisted address/CIDR, or
 *    - the connection is to exactly a service URL's host:port and either that host is this very
 *      IP address (`http://127.0.0.1:4010` allows 127.0.0.1 port 4010, nothing else), or it is a
 *      hostname resolving to a loopback or private address (`http://localhost:4010`,
 *      `http://user-service:8080` in a private network). A service hostname never makes a
 *      link-local, metadata, unspecified, multicast or reserved address reachable.
 *   Allowlisted hostnames reach public addresses only (unless their address is CIDR-allowed).
 */
export interface SsrfGuardOptions {
  /** The configured service base URLs (`USER_SERVICE_URL`, `SERVICE_<NAME>_URL`…). */
  serviceUrls: Iterable<string>;
  /** Extra destinations: hostnames, `*.suffix` wildcards, IP addresses or CIDR ranges. */
  allow?: Iterable<string>;
}

export type GuardDecision = { allowed: true } | { allowed: false; reason: string };

export interface SsrfGuard {
  /** The host gate, for a URL about to be requested (or a redirect target). */
  checkUrl(url: URL): GuardDecision;
  /** Both gates, for one address `hostname` resolved to, just before connecting to it. */
  checkAddress(target: { hostname: string; port: number; address: string }): GuardDecision;
}

const CONFIG_ERROR = ErrorCodes.SAGA_INVALID_CONFIG;
const ALLOW: GuardDecision = { allowed: true };
const refuse = (reason: string): GuardDecision => ({ allowed: false, reason });

/**
 * The canonical form of a URL host: lower case, no trailing dot, no IPv6 brackets, numeric IPv4
 * forms as dotted quads (as the WHATWG URL parser reads them), IPv4-mapped IPv6 as IPv4.
 * Null when the host does not parse.
 */
export function canonicalHost(host: string): string | null {
  const bare = stripAddress(host);
  let hostname: string;
  try {
    hostname = new URL(`http://${isIP(bare) === 6 ? `[${bare}]` : bare}/`).hostname;
  } catch {
    return null;
  }
  hostname = stripAddress(hostname.toLowerCase());
  if (hostname.endsWith(".")) hostname = hostname.slice(0, -1);
  if (hostname === "") return null;
  if (isIP(hostname) === 6) {
    const v4 = embeddedIPv4(hostname);
    if (v4 !== null && /^::ffff:/.test(hostname)) return v4; // mapped: the very same host
  }
  return hostname;
}

/** The port a URL connects to (its explicit port or the scheme's default). */
export function urlPort(url: URL): number {
  if (url.port !== "") return Number(url.port);
  return url.protocol === "https:" ? 443 : 80;
}

export function createSsrfGuard(options: SsrfGuardOptions): SsrfGuard {
  const serviceHosts = new Set<string>();
  const serviceHostPorts = new Set<string>();
  for (const raw of options.serviceUrls) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new SagaError(CONFIG_ERROR, `service URL ${raw} does not parse`, { retryable: false });
    }
    const host = canonicalHost(url.hostname);
    if (host === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
      throw new SagaError(CONFIG_ERROR, `service URL ${raw} must be an http or https URL`, {
        retryable: false,
      });
    }
    serviceHosts.add(host);
    serviceHostPorts.add(`${host} ${urlPort(url)}`);
  }

  const allowedNames = new Set<string>();
  const allowedSuffixes: string[] = [];
  const allowedAddresses = new BlockList();
  for (const raw of options.allow ?? []) {
    const entry = raw.trim();
    const slash = entry.indexOf("/");
    if (slash !== -1) {
      const network = stripAddress(entry.slice(0, slash));
      const prefix = Number(entry.slice(slash + 1));
      const family = isIP(network);
      if (
        family === 0 ||
        !Number.isInteger(prefix) ||
        prefix < 0 ||
        prefix > (family === 4 ? 32 : 128)
      )
        throw new SagaError(CONFIG_ERROR, `allowlist entry ${raw} is not a CIDR range`, {
          retryable: false,
        });
      allowedAddresses.addSubnet(network, prefix, family === 4 ? "ipv4" : "ipv6");
    } else if (entry.startsWith("*.")) {
      const suffix = canonicalHost(entry.slice(2));
      if (suffix === null || isIP(suffix) !== 0)
        throw new SagaError(CONFIG_ERROR, `allowlist entry ${raw} is not a *.domain wildcard`, {
          retryable: false,
        });
      allowedSuffixes.push(`.${suffix}`);
    } else {
      const host = canonicalHost(entry);
      if (host === null)
        throw new SagaError(CONFIG_ERROR, `allowlist entry ${raw} is not a host`, {
          retryable: false,
        });
      const family = isIP(host);
      if (family === 0) allowedNames.add(host);
      else allowedAddresses.addAddress(host, family === 4 ? "ipv4" : "ipv6");
    }
  }

  const addressAllowed = (address: string): boolean => {
    const family = isIP(address);
    if (family === 0) return false;
    if (allowedAddresses.check(address, family === 4 ? "ipv4" : "ipv6")) return true;
    const v4 = family === 6 ? embeddedIPv4(address) : null;
    return v4 !== null && allowedAddresses.check(v4, "ipv4");
  };
  const nameAllowed = (host: string): boolean =>
    allowedNames.has(host) || allowedSuffixes.some((suffix) => host.endsWith(suffix));

  const hostGate = (rawHost: string): GuardDecision => {
    const host = canonicalHost(rawHost);
    if (host === null) return refuse(`host ${JSON.stringify(rawHost)} does not parse`);
    if (serviceHosts.has(host) || nameAllowed(host)) return ALLOW;
    if (isIP(host) !== 0 && addressAllowed(host)) return ALLOW;
    return refuse(`host ${host} is not a configured service and not in the allowlist`);
  };

  return {
    checkUrl(url) {
      if (url.protocol !== "http:" && url.protocol !== "https:")
        return refuse(`scheme ${url.protocol} is not http or https`);
      return hostGate(url.hostname);
    },
    checkAddress({ hostname, port, address }) {
      const gate = hostGate(hostname);
      if (!gate.allowed) return gate;
      const classified = classifyAddress(address);
      if (classified === null) return refuse(`${address} is not an IP address`);
      if (classified.category === "public" || addressAllowed(classified.address)) return ALLOW;
      const host = canonicalHost(hostname)!;
      if (serviceHostPorts.has(`${host} ${port}`)) {
        const literal = isIP(host) !== 0;
        const same = literal && canonicalHost(classified.address) === host;
        if (same) return ALLOW;
        if (!literal && (classified.category === "loopback" || classified.category === "private"))
          return ALLOW;
      }
      return refuse(
        `${host}:${port} resolves to ${classified.address}, a ${classified.category} address ` +
          `that is not explicitly allowed`,
      );
    },
  };
}
