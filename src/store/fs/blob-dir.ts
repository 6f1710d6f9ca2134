/**
 * The blob files of the fs backend: `<dataDir>/blobs/<xx>/<id>`, named by a random id (never by
 * key, so no key can reach outside the directory), written in place and made durable before any
 * row names it. A blob is immutable once its row commits and is owned by exactly one metadata row
 * (an object segment or a multipart part); copies hard-link a blob under a new id.
 *
 * Invariants:
 * - A blob file exists before any row names it (written, made durable, then the row commits).
 * - A blob is unlinked only after the row that dropped it is durable (see `#flushGarbage`) and no
 *   stream opened by this process is still reading it, so an open GET survives a DELETE.
 * - Anything not referenced by a row (a crash mid-write or before the commit, a lost commit) is
 *   an orphan and is swept at open; everything under tmp/ (copies in progress) is swept at open.
 * One process owns a data dir (data-dir-lock.ts).
 *
 * Durability: the file's data is durable before its row commits (an fsync, or for a small body
 * one write through O_DSYNC, which is write + fdatasync in one call; see file-sink.ts). Its
 * directory entry is not fsynced separately: on ext4 and xfs the journal commits it no later than the next
 * fsync or fdatasync of any file, i.e. before the WAL sync that makes the row durable, so a
 * durable row never names a missing file.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, unlink, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { BodySink } from '../hashing/hashing-writer.ts';
import { fileSink } from './file-sink.ts';
import type { ByteRange } from '../object-store.ts';
import { BLOB_HEADER_BYTES, decipherFrom } from '../encryption/object-cipher.ts';
import { insufficientStorage, isStorageFull, type FreeSpace } from './free-space.ts';

/** One stored piece of an object: a blob and its byte length. */
export interface Segment {
  id: string;
  size: number;
}

/** A blob being written: receive into `sink` (durable once finished), or `discard()` it. */
export interface PendingBlob {
  id: string;
  sink: BodySink;
  /** Removes whatever was written (idempotent, never throws). */
  discard(): Promise<void>;
}

/**
 * 32 hex digits, 122 of them random. randomUUID draws from a cached entropy pool; randomBytes(16)
 * asked OpenSSL on every PUT (2% of a 4 KiB PUT's server time in a profile).
 */
export function newBlobId(): string {
  return randomUUID().replaceAll('-', '');
}

/** The IV an encrypted blob starts with. */
async function readBlobHeader(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(BLOB_HEADER_BYTES);
    const { bytesRead } = await handle.read(header, 0, BLOB_HEADER_BYTES, 0);
    if (bytesRead !== BLOB_HEADER_BYTES) throw new Error(`The encrypted blob ${path} has no IV.`);
    return header;
  } finally {
    await handle.close();
  }
}

export class BlobDir {
  readonly #blobs: string;
  readonly #tmp: string;
  /** Blob id → number of open read streams. */
  readonly #reading = new Map<string, number>();
  /** Blobs whose row is gone but a reader still has them; unlinked when the last reader ends. */
  readonly #unlinkWhenRead = new Set<string>();
  /** Blobs dropped by committed rows, waiting for those commits to be durable. */
  #garbage: string[] = [];
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  readonly #makeDurable: () => void;
  readonly #fsync: boolean;
  readonly #space: FreeSpace | undefined;

  /**
   * `makeDurable` must make every metadata commit made so far durable (the SQLite side syncs its
   * WAL); it runs before dropped blobs are unlinked, batched.
   */
  private constructor(
    dataDir: string,
    makeDurable: () => void,
    fsync: boolean,
    space: FreeSpace | undefined,
  ) {
    this.#blobs = join(dataDir, 'blobs');
    this.#tmp = join(dataDir, 'tmp');
    this.#makeDurable = makeDurable;
    this.#fsync = fsync;
    this.#space = space;
  }

  /**
   * `fsync: false` skips making each new blob durable (FsObjectStoreOptions.fsync); with `space`,
   * every byte of a new blob is claimed from that reserve first (free-space.ts).
   */
  static async open(
    dataDir: string,
    makeDurable: () => void,
    { fsync, space }: { fsync: boolean; space?: FreeSpace | undefined },
  ): Promise<BlobDir> {
    const dir = new BlobDir(dataDir, makeDurable, fsync, space);
    await rm(dir.#tmp, { recursive: true, force: true });
    await mkdir(dir.#tmp, { recursive: true });
    await mkdir(dir.#blobs, { recursive: true });
    await Promise.all(
      Array.from({ length: 256 }, (_, i) =>
        mkdir(join(dir.#blobs, i.toString(16).padStart(2, '0')), { recursive: true }),
      ),
    );
    return dir;
  }

  path(id: string): string {
    return join(this.#blobs, id.slice(0, 2), id);
  }

  /**
   * A new blob, written in place under its final name: no row names a fresh random id, so the
   * file is invisible until the caller's row commits, and a crash mid-write leaves an orphan that
   * the sweep at open removes. (A temp file + rename would cost one more threadpool hop per
   * upload and protect nothing more.)
   */
  create(): PendingBlob {
    const id = newBlobId();
    const path = this.path(id);
    const sink = fileSink(path, this.#fsync, this.#space);
    return {
      id,
      sink,
      discard: async () => {
        sink.close();
        await unlink(path).catch(() => undefined);
      },
    };
  }

  /** A new blob with the same bytes as `id` (a hard link; a file copy where links fail). */
  async duplicate(id: string): Promise<string> {
    const copy = newBlobId();
    try {
      await link(this.path(id), this.path(copy));
    } catch {
      const tmpPath = join(this.#tmp, copy);
      try {
        await copyFile(this.path(id), tmpPath);
        const handle = await open(tmpPath, 'r+');
        await handle.sync().finally(() => handle.close());
        await rename(tmpPath, this.path(copy));
      } catch (error) {
        await unlink(tmpPath).catch(() => undefined);
        throw isStorageFull(error) ? insufficientStorage(error) : error;
      }
    }
    return copy;
  }

  /** Removes blobs right away (they were never referenced by a committed row). */
  async removeNow(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => unlink(this.path(id)).catch(() => undefined)));
  }

  /** Marks blobs a committed row no longer references: unlinked once that commit is durable. */
  drop(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.#garbage.push(...ids);
    // Batching: one WAL sync covers every drop of the last few milliseconds.
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      void this.#flushGarbage();
    }, 20);
  }

  #flushGarbage(): Promise<void> {
    const batch = this.#garbage;
    this.#garbage = [];
    if (batch.length === 0) return this.#flushing;
    this.#flushing = this.#flushing.then(async () => {
      try {
        this.#makeDurable();
      } catch {
        // Not known durable (e.g. the database is closed): keep the files; unreferenced ones are
        // swept at the next open.
        return;
      }
      const now: string[] = [];
      for (const id of batch) {
        if (this.#reading.has(id)) this.#unlinkWhenRead.add(id);
        else now.push(id);
      }
      await this.removeNow(now);
    });
    return this.#flushing;
  }

  /** Keeps `ids` from being unlinked until the returned function is called (idempotent). */
  pin(ids: readonly string[]): () => void {
    for (const id of ids) this.#reading.set(id, (this.#reading.get(id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release(ids);
    };
  }

  #release(ids: readonly string[]): void {
    for (const id of ids) {
      const count = (this.#reading.get(id) ?? 1) - 1;
      if (count > 0) {
        this.#reading.set(id, count);
        continue;
      }
      this.#reading.delete(id);
      if (this.#unlinkWhenRead.delete(id)) void this.removeNow([id]);
    }
  }

  /**
   * Streams bytes `range` of the concatenated segments. The blobs are pinned from this call (made
   * in the same tick as the row was read) until the stream ends or is destroyed.
   */
  read(segments: readonly Segment[], range: ByteRange, dataKey?: Buffer): Readable {
    const pieces: { id: string; start: number; end: number }[] = [];
    let offset = 0;
    for (const { id, size } of segments) {
      const first = offset;
      const last = offset + size - 1;
      offset += size;
      if (size === 0 || last < range.start) continue;
      if (first > range.end) break;
      pieces.push({
        id,
        start: Math.max(range.start, first) - first,
        end: Math.min(range.end, last) - first,
      });
    }
    const release = this.pin(pieces.map((p) => p.id));
    if (dataKey !== undefined) {
      // Encrypted blobs (encryption/object-cipher.ts): each starts with its IV; a range of
      // plaintext is the same range of ciphertext one header further on.
      const encrypted = pieces.map((p) => ({ path: this.path(p.id), start: p.start, end: p.end }));
      const stream = Readable.from(
        (async function* () {
          for (const piece of encrypted) {
            const iv = await readBlobHeader(piece.path);
            const decipher = decipherFrom(dataKey, iv, piece.start);
            const file = fs.createReadStream(piece.path, {
              start: piece.start + BLOB_HEADER_BYTES,
              end: piece.end + BLOB_HEADER_BYTES,
              highWaterMark: 256 * 1024,
            });
            for await (const chunk of file) yield decipher.update(chunk as Buffer);
          }
        })(),
        { objectMode: false },
      );
      stream.once('close', release);
      return stream;
    }
    if (pieces.length === 1) {
      const { id, start, end } = pieces[0]!;
      const stream = fs.createReadStream(this.path(id), { start, end, highWaterMark: 256 * 1024 });
      stream.once('close', release);
      return stream;
    }
    const paths = pieces.map((p) => ({ path: this.path(p.id), start: p.start, end: p.end }));
    const stream = Readable.from(
      (async function* () {
        for (const piece of paths)
          yield* fs.createReadStream(piece.path, { ...piece, highWaterMark: 256 * 1024 });
      })(),
      { objectMode: false },
    );
    stream.once('close', release);
    return stream;
  }

  /** Removes every blob file whose id `isReferenced` denies (run at open, before any write). */
  async sweep(isReferenced: (id: string) => boolean): Promise<number> {
    let removed = 0;
    for (const sub of await readdir(this.#blobs)) {
      const dir = join(this.#blobs, sub);
      for (const name of await readdir(dir)) {
        if (isReferenced(name)) continue;
        await unlink(join(dir, name)).catch(() => undefined);
        removed++;
      }
    }
    return removed;
  }

  /** Finishes pending unlinks (close). */
  async close(): Promise<void> {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    await this.#flushGarbage();
  }
}
