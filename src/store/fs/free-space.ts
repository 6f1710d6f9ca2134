/**
 * The free-space reserve of the fs backend (issue 14, item 7). Object data stops at a reserve of
 * free space, so the disk is never filled by upcall itself: what is left is room for what must
 * always work, i.e. metadata commits (a completed multipart upload, a delete, an abort), the WAL
 * sync that lets dropped blobs be unlinked, and SQLite's checkpoints. Without it, a full disk made
 * DELETE, DeleteMultipleObjects and AbortMultipartUpload fail (SQLITE_FULL), so the space could
 * only be freed outside upcall.
 *
 * Every byte of a new blob is claimed before it is written. Claims are checked against an estimate
 * (free bytes at the last statfs, minus what was claimed since), which costs nothing per write;
 * the estimate is re-measured in the background once it is a second old (other processes share
 * the disk), and always before a claim is refused, so space freed by deletes counts at once.
 * Free means `bavail` (what an unprivileged process may use): running as root, the blocks the file
 * system keeps for root are not counted, which only makes the reserve larger.
 */
import { statfs } from 'node:fs';
import { ossError } from '../../shared/oss-error.ts';

/** 512 MiB: far more than metadata needs (a row is well under 1 KiB), and room for a WAL that a
 *  long reader keeps from being checkpointed. */
export const DEFAULT_MIN_FREE_BYTES = 512 * 1024 * 1024;

/** How old a measurement may get before it is refreshed (in the background). */
const MEASURE_EVERY_MS = 1000;

/**
 * The store's refusal: storage full is not the client's fault and retrying at once will not help.
 * FIDELITY: OSS has no such refusal (its space never runs out); 507 InsufficientStorage, as MinIO
 * answers at its free-space threshold (oss-error-catalogue.ts says why not 503).
 */
export function insufficientStorage(cause?: unknown): Error {
  return ossError('InsufficientStorage', { cause });
}

/** True for the errors a full disk (or quota) gives, from the file system or from SQLite. */
export function isStorageFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}

export class FreeSpace {
  readonly #dir: string;
  readonly #minFree: number;
  /** Free bytes at the last measurement minus the bytes claimed since. */
  #free = Number.POSITIVE_INFINITY;
  #measuredAt = Number.NEGATIVE_INFINITY;
  #measuring: Promise<void> | undefined;
  /** Bytes claimed since the measurement in flight started (it may not see them yet). */
  #claimedDuring = 0;

  private constructor(dir: string, minFreeBytes: number) {
    this.#dir = dir;
    this.#minFree = minFreeBytes;
  }

  /** A guard for the file system holding `dir`, measured once before it is returned. */
  static async open(dir: string, minFreeBytes: number): Promise<FreeSpace> {
    const space = new FreeSpace(dir, minFreeBytes);
    await space.#measure();
    return space;
  }

  /**
   * Claims `bytes` about to be written: calls back at once while the estimate leaves the reserve
   * intact, otherwise after a fresh measurement, with InsufficientStorage if there is still no room.
   */
  claim(bytes: number, callback: (error?: Error | null) => void): void {
    if (this.#minFree <= 0) return callback();
    if (Date.now() - this.#measuredAt > MEASURE_EVERY_MS) void this.#measure().catch(() => undefined);
    if (this.#take(bytes)) return callback();
    this.#measure().then(
      () => callback(this.#take(bytes) ? undefined : insufficientStorage()),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  /** Measures again now: after the store itself took space (the reserve file) outside any claim. */
  refresh(): Promise<void> {
    return this.#measure();
  }

  /** Resolves when `bytes` more would leave the reserve intact; rejects with InsufficientStorage. */
  require(bytes = 0): Promise<void> {
    return new Promise((resolve, reject) =>
      this.claim(bytes, (error) => (error ? reject(error) : resolve())),
    );
  }

  #take(bytes: number): boolean {
    if (this.#free - bytes < this.#minFree) return false;
    this.#free -= bytes;
    if (this.#measuring) this.#claimedDuring += bytes;
    return true;
  }

  #measure(): Promise<void> {
    this.#measuring ??= new Promise<void>((resolve, reject) => {
      this.#claimedDuring = 0;
      statfs(this.#dir, (error, stats) => {
        this.#measuring = undefined;
        if (error) return reject(error);
        this.#measuredAt = Date.now();
        // Claims made while statfs ran may be written already (counted twice) or not (counted
        // once): either way the estimate errs on the full side.
        this.#free = stats.bavail * stats.bsize - this.#claimedDuring;
        resolve();
      });
    });
    return this.#measuring;
  }
}
