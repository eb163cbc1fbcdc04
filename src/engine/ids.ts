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

/**
 * Width of the monotonic counter (RFC 9562 §6.2, method 1): the 12 bits of `rand_a` and the 6
 * bits of `rand_b` that follow the variant. A new millisecond seeds it at random with its top bit
 * clear, so at least 2^17 ids fit in one millisecond before it borrows the next one.
 */
const COUNTER_BITS = 18;
const COUNTER_MAX = 2 ** COUNTER_BITS - 1;

/** A clock step back further than this starts afresh instead of pinning ids to the past's future. */
const MAX_BACKWARD_MS = 10_000;

let lastMs = -1;
let counter = 0;

/**
 * A UUIDv7: time-ordered, so new instances land at the right end of the primary-key index.
 *
 * Ids made by one process sort in the order it made them, even within one millisecond and even if
 * `nowMs` goes back (a clock step, an injected clock): the time field never decreases (unless the clock
 * steps back more than 10 s, when it follows the clock rather than stay ahead of it) and an
 * 18-bit counter (seeded at random each new millisecond) orders ids of the same millisecond. If
 * the counter runs out, the id borrows the next millisecond, as RFC 9562 allows. Across processes
 * only the embedded millisecond orders ids; ties between processes are in random order, so
 * listings order by `created_at`, then id.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  const r = random10();
  let ms = Math.max(0, Math.floor(nowMs));
  if (ms > lastMs || lastMs - ms > MAX_BACKWARD_MS) {
    lastMs = ms;
    counter = ((r[0]! << 9) | (r[1]! << 1) | (r[2]! & 1)) & (COUNTER_MAX >>> 1);
  } else {
    ms = lastMs;
    if (counter < COUNTER_MAX) {
      counter += 1;
    } else {
      lastMs += 1;
      ms = lastMs;
      counter = 0;
    }
  }
  const randA = counter >>> 6; // 12 bits
  const randB6 = counter & 0x3f; // 6 bits after the variant
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
    0x70 | (randA >>> 8),
    randA & 0xff,
    0x80 | randB6,
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
