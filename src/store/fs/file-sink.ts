/**
 * The file end of an upload on the fs backend: a BodySink that writes a new blob file in order
 * and makes its data durable on finish (blob-dir.ts names the file and owns its life).
 *
 * Invariant: when `finish` calls back without an error, every byte is in the file and, unless
 * `fsync` is false, durable; the file is created with O_EXCL, so a sink never writes into a file
 * it did not create.
 */
import * as fs from 'node:fs';
import type { BodySink } from '../hashing/hashing-writer.ts';
import { insufficientStorage, isStorageFull, type FreeSpace } from './free-space.ts';

/** The most a sink holds back before opening its file (see fileSink). */
const HOLD_LIMIT = 64 * 1024;
const O_DSYNC: number | undefined = fs.constants.O_DSYNC;
const CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;

/**
 * A BodySink into a new file at `path`, on the callback fs API (lighter than FileHandle on the
 * small PUT hot path): writes in order, then makes the data durable (unless `fsync` is false)
 * and closes on finish.
 *
 * Every fs call is a hop to libuv's threadpool, and on small PUTs those hops are most of the
 * store's cost. So the file is opened only when the first bytes are to be written, and up to
 * HOLD_LIMIT bytes are held back first: a body that fits arrives whole before the file exists,
 * and is written through a file opened with O_DSYNC (each write returns once its data is durable,
 * like write + fdatasync), which saves the separate fsync. A larger body opens the file at once
 * and is fsynced on finish, as one sync at the end beats one per write.
 */
export function fileSink(
  path: string,
  fsync: boolean,
  space: FreeSpace | undefined,
): BodySink & { close(): void } {
  let fd: number | undefined;
  let held: Buffer[] | undefined = [];
  let heldBytes = 0;
  let closed = false;
  const openFile = (flags: number, callback: (error?: Error | null) => void): void => {
    fs.open(path, flags, 0o666, (error, opened) => {
      if (error) return callback(error);
      if (closed) {
        // Discarded while the open was in flight: the discard's unlink may have run already.
        fs.close(opened, () => fs.unlink(path, () => undefined));
        return callback(new Error('The blob was discarded while it was being opened.'));
      }
      fd = opened;
      callback();
    });
  };
  const closeOnce = (callback: (error?: Error | null) => void) => {
    if (closed) return callback();
    closed = true;
    if (fd === undefined) return callback();
    fs.close(fd, callback);
  };
  const writeAll = (chunks: Buffer[], callback: (error?: Error | null) => void): void => {
    fs.writev(fd!, chunks, (error, written) => {
      if (error) return callback(error);
      let total = 0;
      for (const c of chunks) total += c.length;
      if (written === total) return callback();
      // A short write (rare on regular files): continue with what is left.
      let skip = written;
      const rest: Buffer[] = [];
      for (const c of chunks) {
        if (skip >= c.length) skip -= c.length;
        else {
          rest.push(c.subarray(skip));
          skip = 0;
        }
      }
      writeAll(rest, callback);
    });
  };
  // A disk that fills anyway (another program wrote to it) is the same refusal as the reserve's.
  const storageFull =
    (callback: (error?: Error | null) => void) =>
    (error?: Error | null): void =>
      callback(error && isStorageFull(error) ? insufficientStorage(error) : error);
  return {
    write(chunks, callback) {
      const done = storageFull(callback);
      if (!space) return writeOrHold(chunks, done);
      let bytes = 0;
      for (const c of chunks) bytes += c.length;
      // Claimed before it is held or written: a body that crosses the reserve stops right there.
      space.claim(bytes, (error) => (error ? done(error) : writeOrHold(chunks, done)));
    },
    finish(callback) {
      finishFile(storageFull(callback));
    },
    close() {
      closeOnce(() => undefined);
    },
  };

  function writeOrHold(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    if (held !== undefined) {
      let bytes = 0;
      for (const c of chunks) bytes += c.length;
      if (heldBytes + bytes <= HOLD_LIMIT) {
        held.push(...chunks);
        heldBytes += bytes;
        return callback();
      }
      const all = [...held, ...chunks];
      held = undefined;
      return openFile(CREATE, (error) => (error ? callback(error) : writeAll(all, callback)));
    }
    writeAll(chunks, callback);
  }

  function finishFile(callback: (error?: Error | null) => void): void {
    if (held !== undefined) {
      // The whole body was held: one durable write through O_DSYNC, then close.
      const all = held;
      held = undefined;
      const durable = fsync && O_DSYNC !== undefined;
      const flags = durable ? CREATE | O_DSYNC : CREATE;
      return openFile(flags, (error) => {
        if (error) return callback(error);
        const done = (writeError?: Error | null) => {
          if (writeError) return closeOnce(() => callback(writeError));
          if (fsync && !durable) return syncAndClose(callback);
          closeOnce(callback);
        };
        if (all.length === 0) return done();
        writeAll(all, done);
      });
    }
    if (!fsync) return closeOnce(callback);
    syncAndClose(callback);
  }

  function syncAndClose(callback: (error?: Error | null) => void): void {
    fs.fsync(fd!, (error) => {
      if (error) return closeOnce(() => callback(error));
      closeOnce(callback);
    });
  }
}
