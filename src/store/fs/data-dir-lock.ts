/**
 * One process per data dir: the open-time sweep deletes temp files and unreferenced blobs, which
 * would destroy another process's in-flight writes.
 *
 * The lock is an fcntl lock the kernel drops when its holder dies, however it dies (kill -9
 * included), so no stale lock can outlive a crash and no pid is ever trusted: a pid check refused
 * to start after a kill -9 whenever another process had since been given the old pid (issue 14,
 * item 8). The fcntl lock is taken through SQLite, which Node has no other binding for:
 * `<dataDir>/lock` is a tiny SQLite database opened in EXCLUSIVE locking mode, and after its first
 * write the connection holds the file's exclusive lock until it is closed or the process ends.
 * Another process (or another connection in this one) then gets SQLITE_BUSY at once.
 *
 * The holder writes its pid into the database header's user_version (bytes 60-63, big-endian),
 * which a refused process reads straight from the file to name the holder in its error. That pid
 * is for the message only; whether the lock is held is the kernel's answer alone.
 */
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** Where SQLite keeps `PRAGMA user_version` in the database header (sqlite.org/fileformat.html). */
const USER_VERSION_OFFSET = 60;

/** The pid the holder wrote into the lock file's header, if it can be read. */
async function holderPid(path: string): Promise<number | undefined> {
  try {
    const file = await open(path, 'r');
    try {
      const header = Buffer.alloc(4);
      const { bytesRead } = await file.read(header, 0, 4, USER_VERSION_OFFSET);
      const pid = bytesRead === 4 ? header.readUInt32BE(0) : 0;
      return pid > 0 ? pid : undefined;
    } finally {
      await file.close();
    }
  } catch {
    return undefined;
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

function take(path: string): Database.Database {
  // timeout 0: a held lock is an answer now, not after better-sqlite3's default 5 s of retries.
  const db = new Database(path, { timeout: 0 });
  try {
    // The journal in memory: no lock-journal file beside it (OFF is refused by this build).
    db.pragma('journal_mode = MEMORY');
    db.pragma('locking_mode = EXCLUSIVE');
    // The write takes the exclusive lock; EXCLUSIVE locking mode keeps it after the commit.
    db.pragma(`user_version = ${process.pid}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Takes the lock or throws naming the process that holds it; resolves to the release function. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, 'lock');
  let db: Database.Database;
  try {
    db = take(path);
  } catch (error) {
    if (isBusy(error)) {
      const pid = await holderPid(path);
      const holder = pid === undefined ? 'another process' : `process ${pid}`;
      throw new Error(`data dir ${dataDir} is in use by ${holder} (it holds ${path})`, { cause: error });
    }
    if ((error as { code?: unknown }).code !== 'SQLITE_NOTADB') throw error;
    // A pid file left by an older upcall, which locked by pid: nothing holds it as a lock.
    await unlink(path);
    db = take(path);
  }
  return async () => {
    db.close();
  };
}
