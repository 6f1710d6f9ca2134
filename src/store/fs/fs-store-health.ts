/**
 * Readiness of the fs backend: its SQLite metadata database answers a read, and the file it has
 * open is still the one at `<dataDir>/meta.sqlite` (an open SQLite connection keeps working on a
 * file that was deleted or replaced underneath it, so every later commit would go to a ghost that
 * vanishes at restart), and the blob directory is still there and writable.
 */
import { constants, type Stats } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type Database from 'better-sqlite3';
import type { StoreHealthCheck } from '../store-health.ts';

export interface FsStoreFiles {
  db: Database.Database;
  /** The metadata database file as opened, and its identity then. */
  dbPath: string;
  dbIdentity: Pick<Stats, 'dev' | 'ino'>;
  blobsDir: string;
}

export async function checkFsStoreHealth(files: FsStoreFiles): Promise<StoreHealthCheck[]> {
  return [await checkMetadataDatabase(files), await checkBlobDirectory(files.blobsDir)];
}

async function checkMetadataDatabase(files: FsStoreFiles): Promise<StoreHealthCheck> {
  const name = 'metadata-database';
  if (!files.db.open) return { name, ok: false, reason: 'the metadata database is closed' };
  try {
    files.db.prepare('SELECT 1 FROM buckets LIMIT 1').get();
  } catch (error) {
    return { name, ok: false, reason: `the metadata database fails a read: ${message(error)}` };
  }
  let now: Stats;
  try {
    now = await stat(files.dbPath);
  } catch (error) {
    return { name, ok: false, reason: `${files.dbPath} is gone (${code(error)})` };
  }
  if (now.dev !== files.dbIdentity.dev || now.ino !== files.dbIdentity.ino) {
    return { name, ok: false, reason: `${files.dbPath} was replaced by another file since it was opened` };
  }
  return { name, ok: true };
}

async function checkBlobDirectory(blobsDir: string): Promise<StoreHealthCheck> {
  const name = 'blob-directory';
  try {
    await access(blobsDir, constants.W_OK);
    return { name, ok: true };
  } catch (error) {
    return { name, ok: false, reason: `${blobsDir} is not writable (${code(error)})` };
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function code(error: unknown): string {
  const value = (error as { code?: unknown } | null)?.code;
  return typeof value === 'string' ? value : message(error);
}
