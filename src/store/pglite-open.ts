import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { lstat, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
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
    const image = await freshDatabaseImage();
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
        ErrorCodes.SAGA_STORE_LOCKED,
        `the PGlite data directory ${dataDir} is in use by process ${holder}` +
          `${holder === process.pid ? " (this one)" : ""}: PGlite allows one process at a time; ` +
          "use PostgreSQL for several processes",
        { retryable: false },
      );
    }
    rmSync(path, { force: true }); // its process is gone: a stale lock
  }
  throw new SagaError(ErrorCodes.SAGA_STORE_LOCKED, `could not lock ${dataDir} (${path})`, {
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

// PGlite's CommonJS build, which `node -e` can require by its path.
const pgliteModule = createRequire(import.meta.url).resolve("@electric-sql/pglite");

let imageOnce: Promise<Blob> | undefined;

/**
 * The image of a newly initialised database. Every in-memory database starts from the same one,
 * so it is made once per PGlite version: kept in this process, and in a cache file that only
 * this user can write (a fresh initdb costs seconds of CPU; a process opening many in-memory
 * stores, such as a test run, would otherwise pay it each time).
 */
function freshDatabaseImage(): Promise<Blob> {
  imageOnce ??= cachedImage().catch((error: unknown) => {
    imageOnce = undefined;
    throw error;
  });
  return imageOnce;
}

async function cachedImage(): Promise<Blob> {
  const file = imageCacheFile();
  if (file !== null) {
    const cached = await readPrivateFile(file);
    if (cached !== null) return new Blob([cached]);
  }
  const image = await initdbInChild(undefined);
  if (file !== null) await writePrivateFile(file, Buffer.from(await image.arrayBuffer()));
  return image;
}

/** `<tmp>/saga-orchestrator-<uid>/pglite-<version>.tar`, or null where no uid exists. */
function imageCacheFile(): string | null {
  const uid = process.getuid?.();
  if (uid === undefined) return null;
  let version: string;
  try {
    const root = pgliteModule.slice(0, pgliteModule.lastIndexOf("/dist/"));
    version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string })
      .version;
  } catch {
    return null; // an unknown version could match an image of another: make it afresh
  }
  return join(tmpdir(), `saga-orchestrator-${uid}`, `pglite-${version}.tar`);
}

/** The file's bytes if it and its folder belong to this user and nobody else can write them. */
async function readPrivateFile(file: string): Promise<Buffer | null> {
  try {
    for (const path of [dirname(file), file]) {
      const info = await lstat(path);
      if (info.uid !== process.getuid?.() || (info.mode & 0o022) !== 0 || info.isSymbolicLink()) {
        return null;
      }
    }
    const bytes = await readFile(file);
    return bytes.length > 0 ? bytes : null;
  } catch {
    return null;
  }
}

/** Writes atomically (a temporary file renamed over it); a failure only means no cache. */
async function writePrivateFile(file: string, bytes: Buffer): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const dir = await lstat(dirname(file));
    if (dir.uid !== process.getuid?.() || (dir.mode & 0o022) !== 0 || dir.isSymbolicLink()) return;
    await writeFile(temp, bytes, { mode: 0o600, flag: "wx" });
    await rename(temp, file);
  } catch {
    await rm(temp, { force: true }).catch(() => undefined);
  }
}

/** Creates the database in `dataDir`, or in memory and returns its image (an uncompressed tar). */
function initdbInChild(dataDir: string | undefined): Promise<Blob> {
  const script = `
    const { PGlite } = require(${JSON.stringify(pgliteModule)});
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
