import { protocol } from "@electric-sql/pglite";

const EXECUTE_SYNC = Buffer.concat([protocol.serialize.execute({}), protocol.serialize.sync()]);

/**
 * The wire messages Bind (parameters and results in text format, unnamed portal) + Execute + Sync
 * for the prepared statement `statement`. PGlite's serialiser measures each string in a JavaScript
 * loop, twice; our parameters are JSON texts of whole batches, and Buffer measures and encodes
 * them natively (measured: 15% of the CPU of `POST /sagas/start` went to that loop).
 */
export function bindExecuteSync(statement: string, values: readonly (string | null)[]): Buffer {
  // Bind: length, portal "", statement, 0 parameter formats, the values, 0 result formats.
  let bindLength = 4 + 1 + Buffer.byteLength(statement) + 1 + 2 + 2 + 2;
  for (const v of values) bindLength += 4 + (v === null ? 0 : Buffer.byteLength(v));
  const out = Buffer.allocUnsafe(1 + bindLength + EXECUTE_SYNC.length);
  let at = out.write("B");
  at = out.writeInt32BE(bindLength, at);
  at = out.writeUInt8(0, at);
  at += out.write(statement, at);
  at = out.writeUInt8(0, at);
  at = out.writeInt16BE(0, at);
  at = out.writeInt16BE(values.length, at);
  for (const v of values) {
    if (v === null) {
      at = out.writeInt32BE(-1, at);
      continue;
    }
    const start = at + 4;
    const length = out.write(v, start);
    at = out.writeInt32BE(length, at) + length;
  }
  at = out.writeInt16BE(0, at);
  EXECUTE_SYNC.copy(out, at);
  return out;
}
