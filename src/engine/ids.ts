import { randomFillSync } from "node:crypto";

/** Random bytes drawn 4 KiB at a time: one system call per ~400 ids instead of one per id. */
const pool = Buffer.alloc(4096);
let offset = pool.length;

function random10(): Buffer {
  if (offset + 10 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 10);
  offset += 10;
  return bytes;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A UUIDv7: time-ordered, so new instances land at the right end of the primary-key index. */
export function uuidv7(nowMs: number = Date.now()): string {
  const r = random10();
  const ms = Math.max(0, Math.floor(nowMs));
  // 48-bit big-endian milliseconds (exact in a double), then version 7 and variant 10.
  const high = Math.floor(ms / 2 ** 16);
  const low = ms % 2 ** 16;
  const b = [
    (high >>> 24) & 0xff,
    (high >>> 16) & 0xff,
    (high >>> 8) & 0xff,
    high & 0xff,
    (low >>> 8) & 0xff,
    low & 0xff,
    (r[0]! & 0x0f) | 0x70,
    r[1]!,
    (r[2]! & 0x3f) | 0x80,
    r[3]!,
    r[4]!,
    r[5]!,
    r[6]!,
    r[7]!,
    r[8]!,
    r[9]!,
  ].map((x) => HEX[x]!);
  return `${b[0]}${b[1]}${b[2]}${b[3]}-${b[4]}${b[5]}-${b[6]}${b[7]}-${b[8]}${b[9]}-${b[10]}${b[11]}${b[12]}${b[13]}${b[14]}${b[15]}`;
}
