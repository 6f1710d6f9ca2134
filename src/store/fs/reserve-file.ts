/**
 * `<dataDir>/reserve`: a few MiB of real blocks kept for the day the disk is full anyway. The
 * free-space reserve (free-space.ts) keeps upcall from filling the disk, but another program can
 * still take the last byte, and then SQLite cannot write the WAL frames of a DELETE or an abort:
 * the only requests that would free space fail (issue 14, item 7). When a metadata commit that
 * frees or finishes something fails for lack of space, this file is deleted, which gives SQLite
 * room at once, and the commit runs again; the file is written again once there is room.
 *
 * 4 MiB is a full WAL between checkpoints (1000 pages of 4 KiB), far more than deleting the
 * 1000 keys of one DeleteMultipleObjects and the WAL sync that lets their blobs be unlinked need.
 */
import { unlinkSync } from 'node:fs';
import { open, stat, statfs, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isOssError } from '../../shared/oss-error.ts';
import { isStorageFull } from './free-space.ts';

export const RESERVE_FILE_BYTES = 4 * 1024 * 1024;

/** How long to wait before trying to write the file again after it could not be. */
const RETRY_FILL_MS = 2000;

function isFull(error: unknown): boolean {
  return isStorageFull(error) || (isOssError(error) && error.code === 'InsufficientStorage');
}

export class ReserveFile {
  readonly #path: string;
  readonly #bytes: number;
  #present = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(path: string, bytes: number) {
    this.#path = path;
    this.#bytes = bytes;
  }

  /**
   * Makes sure the file holds its bytes (written, not sparse, so the blocks are really taken).
   * Never throws: without room it tries again later.
   */
  async fill(): Promise<void> {
    if (this.#bytes <= 0 || this.#closed) return;
    try {
      if ((await stat(this.#path).catch(() => undefined))?.size === this.#bytes) {
        this.#present = true;
        return;
      }
      // Only from space beyond the file itself: never take what an upload was just refused.
      const fs = await statfs(dirname(this.#path));
      if (fs.bavail * fs.bsize < 2 * this.#bytes)
        throw Object.assign(new Error('no room'), { code: 'ENOSPC' });
      const file = await open(this.#path, 'w');
      try {
        const zeros = Buffer.alloc(64 * 1024);
        for (let at = 0; at < this.#bytes; at += zeros.length) await file.write(zeros, 0, zeros.length, at);
      } finally {
        await file.close();
      }
      this.#present = true;
    } catch (error) {
      this.#present = false;
      await unlink(this.#path).catch(() => undefined);
      if (isFull(error)) this.#fillLater();
    }
  }

  /**
   * Runs `commit` (synchronous: a SQLite transaction); when it fails for lack of space and the
   * file is there, deletes the file and runs `commit` once more.
   */
  retryOnFull<T>(commit: () => T): T {
    try {
      return commit();
    } catch (error) {
      if (!isFull(error) || !this.#release()) throw error;
      return commit();
    }
  }

  #release(): boolean {
    if (!this.#present) return false;
    this.#present = false;
    try {
      // Synchronous: the retry that follows needs the blocks back now.
      unlinkSync(this.#path);
    } catch {
      return false;
    }
    this.#fillLater();
    return true;
  }

  #fillLater(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.fill();
    }, RETRY_FILL_MS);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
