import { BlockList, isIP } from "node:net";

/** Why an address is special: anything but `public` needs an explicit allowance to be connected. */
export type AddressCategory =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "metadata"
  | "unspecified"
  | "multicast"
  | "reserved";

export interface ClassifiedAddress {
  /** The address as given, without brackets or zone id. */
  address: string;
  /** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any. */
  embeddedIPv4: string | null;
  category: AddressCategory;
}

const RANGES: [AddressCategory, string, number, "ipv4" | "ipv6"][] = [
  ["metadata", "169.254.169.254", 32, "ipv4"], // AWS, GCP, Azure, OpenStack…
  ["metadata", "100.100.100.200", 32, "ipv4"], // Alibaba Cloud
  ["metadata", "fd00:ec2::254", 128, "ipv6"], // AWS over IPv6
  ["unspecified", "0.0.0.0", 8, "ipv4"],
  ["private", "10.0.0.0", 8, "ipv4"],
  ["private", "100.64.0.0", 10, "ipv4"], // carrier-grade NAT
  ["loopback", "127.0.0.0", 8, "ipv4"],
  ["link-local", "169.254.0.0", 16, "ipv4"],
  ["private", "172.16.0.0", 12, "ipv4"],
  ["reserved", "192.0.0.0", 24, "ipv4"],
  ["reserved", "192.0.2.0", 24, "ipv4"],
  ["reserved", "192.88.99.0", 24, "ipv4"],
  ["private", "192.168.0.0", 16, "ipv4"],
  ["reserved", "198.18.0.0", 15, "ipv4"],
  ["reserved", "198.51.100.0", 24, "ipv4"],
  ["reserved", "203.0.113.0", 24, "ipv4"],
  ["multicast", "224.0.0.0", 4, "ipv4"],
  ["reserved", "240.0.0.0", 4, "ipv4"], // incl. broadcast 255.255.255.255
  ["unspecified", "::", 128, "ipv6"],
  ["loopback", "::1", 128, "ipv6"],
  ["reserved", "::", 96, "ipv6"], // IPv4-compatible; the embedded address is classified first
  ["reserved", "64:ff9b:1::", 48, "ipv6"], // local-use NAT64
  ["reserved", "100::", 64, "ipv6"], // discard-only
  ["reserved", "2001::", 32, "ipv6"], // Teredo: refused outright
  ["reserved", "2001:db8::", 32, "ipv6"],
  ["private", "fc00::", 7, "ipv6"], // unique local
  ["link-local", "fe80::", 10, "ipv6"],
  ["private", "fec0::", 10, "ipv6"], // deprecated site-local
  ["multicast", "ff00::", 8, "ipv6"],
];

const lists = new Map<AddressCategory, BlockList>();
for (const [category, network, prefix, family] of RANGES) {
  let list = lists.get(category);
  if (!list) lists.set(category, (list = new BlockList()));
  list.addSubnet(network, prefix, family);
}
// Most specific first: ::1 and :: before the ::/96 they sit in.
const ORDER: AddressCategory[] = [
  "metadata",
  "loopback",
  "unspecified",
  "link-local",
  "private",
  "multicast",
  "reserved",
];

/** `[::1]` -> `::1`, `fe80::1%eth0` -> `fe80::1`; anything else unchanged. */
export function stripAddress(address: string): string {
  let a = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  const zone = a.indexOf("%");
  if (zone !== -1 && a.includes(":")) a = a.slice(0, zone);
  return a;
}

/** The 16 bytes of a valid IPv6 address (no brackets, no zone), else null. */
export function ipv6Bytes(address: string): Uint8Array | null {
  if (isIP(address) !== 6) return null;
  let text = address;
  const lastColon = text.lastIndexOf(":");
  const v4 = text.slice(lastColon + 1);
  if (v4.includes(".")) {
    const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const hex = (s: string): number[] => (s === "" ? [] : s.split(":").map((h) => parseInt(h, 16)));
  let hextets = hex(head);
  if (rest !== undefined) {
    const right = hex(rest);
    hextets = [
      ...hextets,
      ...new Array<number>(8 - hextets.length - right.length).fill(0),
      ...right,
    ];
  }
  if (hextets.length !== 8) return null;
  const bytes = new Uint8Array(16);
  hextets.forEach((h, i) => {
    bytes[2 * i] = h >> 8;
    bytes[2 * i + 1] = h & 0xff;
  });
  return bytes;
}

const dotted = (b: Uint8Array, at: number): string =>
  `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const zero = (b: Uint8Array, from: number, to: number): boolean =>
  b.slice(from, to).every((x) => x === 0);

/**
 * The IPv4 address an IPv6 address stands for or routes to: IPv4-mapped `::ffff:a.b.c.d`,
 * SIIT `::ffff:0:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4
 * `2002:AABB:CCDD::`. Null for any other address (and for `::` and `::1`).
 */
export function embeddedIPv4(address: string): string | null {
  const b = ipv6Bytes(stripAddress(address));
  if (!b) return null;
  if (zero(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return dotted(b, 12);
  if (zero(b, 0, 8) && b[8] === 0xff && b[9] === 0xff && zero(b, 10, 12)) return dotted(b, 12);
  if (zero(b, 0, 12) && !zero(b, 12, 15)) return dotted(b, 12); // not :: or ::1
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(b, 4, 12))
    return dotted(b, 12);
  if (b[0] === 0x20 && b[1] === 0x02) return dotted(b, 2);
  return null;
}

function categoryOf(address: string, family: "ipv4" | "ipv6"): AddressCategory {
  for (const category of ORDER) if (lists.get(category)?.check(address, family)) return category;
  return "public";
}

/**
 * Classifies an IP address (v4 or v6, brackets and zone ids allowed). An IPv6 address that
 * carries an IPv4 address takes the category of that IPv4 address when it is special.
 * Returns null for something that is not an IP address.
 */
export function classifyAddress(raw: string): ClassifiedAddress | null {
  const address = stripAddress(raw);
  const family = isIP(address);
  if (family === 4) return { address, embeddedIPv4: null, category: categoryOf(address, "ipv4") };
  if (family !== 6) return null;
  const embedded = embeddedIPv4(address);
  if (embedded !== null) {
    const inner = categoryOf(embedded, "ipv4");
    if (inner !== "public") return { address, embeddedIPv4: embedded, category: inner };
  }
  return { address, embeddedIPv4: embedded, category: categoryOf(address, "ipv6") };
}
