/**
 * The Redis Cluster hash slot of a key (0..16383): CRC16 (XMODEM) of the key, or of its hash tag
 * — the text between the first `{` and the next `}` when that text is not empty — modulo 16384.
 * Keys with the same tag share a slot, so one MULTI/EXEC may touch them all.
 */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, "utf8");
  const open = bytes.indexOf(0x7b); // {
  let hashed = bytes;
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) hashed = bytes.subarray(open + 1, close);
  }
  return crc16(hashed) % 16_384;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}
