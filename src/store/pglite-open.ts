import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { ErrorCodes, SagaError } from "../core/errors.js";

/**
 * PGlite's start parameters, plus:
 * - `plan_cache_mode=force_custom_plan`: the client prepares each statement once, but a generic
 *   plan would be made once and kept while the tables grow (nothing runs ANALYZE in PGlite's
 *   single-user mode): a plan made on a near-empty table scans the whole table ever after.
 * - `shared_buffers=32MB` (default 128MB): the database's pages are also in the file system (in
 *   this process's memory for an in-memory database, in the OS cache on disk), so a large buffer
 *   pool mostly holds a second copy.
 * - `min_wal_size`/`max_wal_size`: the WAL segments kept for reuse after a checkpoint
 *   (see PgliteStore's checkpoints), 1 GB by default.
 */
const START_PARAMS = [
  ...PGlite.defaultStartParams,
  ...["-c", "plan_cache_mode=force_custom_plan"],
  ...["-c", "shared_buffers=32MB"],
  ...["-c", "min_wal_size=32MB", "-c", "max_wal_size=64MB"],
];

/**
 * Opens PGlite on `dataDir`, in memory when omitted. A new database is made by initdb in a child
 * process: in this process, PGlite would keep the memory of the PostgreSQL that ran initdb
 * (~300 MB) for as long as the new database is open.
 */
export async function openPglite(dataDir?: string): Promise<PGlite> {
  if (dataDir === undefined) {
    const image = await initdbInChild(undefined);
    return PGlite.create({ loadDataDir: image, startParams: START_PARAMS });
  }
  if (!existsSync(join(dataDir, "PG_VERSION"))) await initdbInChild(dataDir);
  const release = lockDataDir(dataDir);
  let db: PGlite;
  try {
    db = await PGlite.create({ dataDir, startParams: START_PARAMS });
  } catch (error) {
    release();
    throw error;
  }
  const close = db.close.bind(db);
  db.close = async () => {
    try {
      await close();
    } finally {
      release();
    }
  };
  return db;
}

/** The lock file of a data directory: the pid of the process that has it open. */
export const LOCK_FILE = "saga-orchestrator.pid";

/**
 * Takes the data directory for this process. PGlite is single-process: a second process opening
 * the same files would corrupt them. A lock left by a process that died (kill -9) is taken over;
 * a live holder (or this process, opening it twice) is refused with SAGA_STORE_LOCKED.
 */
function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let holder: number;
    try {
      holder = Number(readFileSync(path, "utf8").trim());
    } catch {
      continue; // removed meanwhile: try again
    }
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
      throw new SagaError(
        ErrorCodes.STORE_LOCKED,
        `the PGlite data directory ${dataDir} is in use by process ${holder}` +
          `${holder === process.pid ? " (this one)" : ""}: PGlite allows one process at a time; ` +
          "use PostgreSQL for several processes",
        { retryable: false },
      );
    }
    rmSync(path, { force: true }); // its process is gone: a stale lock
  }
  throw new SagaError(ErrorCodes.STORE_LOCKED, `could not lock ${dataDir} (${path})`, {
    retryable: false,
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Creates the database in `dataDir`, or in memory and returns its image (an uncompressed tar). */
function initdbInChild(dataDir: string | undefined): Promise<Blob> {
  // PGlite's CommonJS build, which `node -e` can require by its path.
  const pglite = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  const script = `
    const { PGlite } = require(${JSON.stringify(pglite)});
    (async () => {
      const db = await PGlite.create(${JSON.stringify(dataDir === undefined ? {} : { dataDir })});
      ${dataDir === undefined ? 'process.stdout.write(Buffer.from(await (await db.dumpDataDir("none")).arrayBuffer()));' : ""}
      await db.close();
    })().catch((error) => { console.error(error); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    const image: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => image.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(new Blob(image));
      else reject(new Error(`PGlite initdb failed (exit ${code}): ${err.trim()}`));
    });
  });
}
