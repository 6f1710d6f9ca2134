/**
 * Receives an upload body for a backend: pipes the client's Readable through MD5 + CRC-64 hashing
 * into the backend's sink (a new blob file, or a chunk list in memory), counting bytes.
 *
 * Invariants: the body is never buffered whole here (the sink decides what to keep); more than
 * `maxSize` bytes fail with EntityTooLarge as soon as they arrive; any error (client abort, stream
 * error, sink error) rejects and the caller discards whatever the sink received. Nothing becomes
 * visible here: committing is the backend's job, after this resolves.
 *
 * The CRC-64 of a body past the pool's threshold (1 MiB) continues in a worker thread of the
 * store's pool (crc64-pool.ts), in parallel with the MD5 and the sink's write; the Writable's callback waits for
 * the sink and for the worker to be within its in-flight bound, so memory stays bounded either way.
 * Smaller bodies, and every body while no worker is ready, are hashed inline.
 *
 * `onHashed` reports the digests as soon as they are known (last chunk taken, worker's CRC back),
 * while the sink's fsync is still running, so a caller can start work that needs only them (e.g.
 * signing an upload callback) in parallel with making the body durable.
 *
 * The body is piped, not pipelined: when the store gives up (EntityTooLarge, a disk error) the
 * client's stream is unpiped but not destroyed, so the HTTP layer can still answer with the error
 * (and then drain or close the connection as it sees fit).
 */
import { createHash } from 'node:crypto';
import { Writable, finished, type Readable } from 'node:stream';
import { Crc64 } from '../../shared/crc64.ts';
import { etagFromMd5 } from '../../shared/etag.ts';
import { ossError } from '../../shared/oss-error.ts';
import type { Crc64Job, Crc64Pool } from './crc64-pool.ts';
import type { ReceivedDigests } from '../object-store.ts';

export interface ReceivedBody {
  size: number;
  /** Raw MD5 digest of the body. */
  md5: Buffer;
  /** Upper-case hex MD5 (the single-upload ETag). */
  etag: string;
  /** base64 MD5 (the Content-MD5 form). */
  contentMd5: string;
  /** CRC-64/XZ, decimal. */
  crc64: string;
}

/**
 * Where a body's bytes go: the backend's storage. `write` gets chunks in order; `finish` runs once
 * after the last one and must make them durable (fsync for a file) before calling back.
 */
export interface BodySink {
  write(chunks: Buffer[], callback: (error?: Error | null) => void): void;
  finish(callback: (error?: Error | null) => void): void;
}

export interface ReceiveBodyOptions {
  /**
   * Where the CRC of a body past the pool's threshold continues: the store's pool. Without one,
   * every CRC is computed inline.
   */
  crc64Pool?: Crc64Pool | undefined;
  /**
   * The body's declared length (Content-Length), when known. A body declared at least the pool's
   * threshold goes to a worker from its first byte: the inline CRC of the threshold's first bytes
   * costs the main thread about as much as MD5 does for ten times as many (a profile of a gateway
   * under 64 MiB PUTs, bench/findings.md).
   */
  declaredSize?: number | undefined;
  /**
   * Called at most once with the body's digests (the same object the promise resolves with), before
   * or while `sink.finish` runs; not called when receiving fails first. Must not throw.
   */
  onHashed?: (body: ReceivedBody) => void;
}

/**
 * Streams `body` into `sink`, resolving with the body's size and hashes once `sink.finish` has
 * called back. One Writable does the counting, hashing and handing on (no Transform stage: a small
 * PUT must stay close to a bare write + fsync, and per-stream overhead is most of its CPU).
 * @throws EntityTooLarge | the stream's own error (e.g. a client abort) | the sink's error
 */
export function receiveBody(
  body: Readable,
  sink: BodySink,
  maxSize: number = Number.POSITIVE_INFINITY,
  options: ReceiveBodyOptions = {},
): Promise<ReceivedBody> {
  return new Promise((resolve, reject) => {
    const md5 = createHash('md5');
    let crc = new Crc64();
    const pool = options.crc64Pool;
    let job: Crc64Job | undefined;
    let size = 0;
    // md5.digest() works once: the digests are made once, when the last byte is hashed, and both
    // onHashed and the resolve get that object.
    let received: ReceivedBody | undefined;
    const hashed = (): ReceivedBody => {
      if (received) return received;
      const digest = md5.digest();
      received = {
        size,
        md5: digest,
        etag: etagFromMd5(digest),
        contentMd5: digest.toString('base64'),
        crc64: crc.digest(),
      };
      const { onHashed } = options;
      if (onHashed) {
        try {
          onHashed(received);
        } catch {
          // Contract: the hook must not throw. If it does anyway, the upload goes on: early work on
          // its behalf must never be able to fail (or half-fail) the write itself.
        }
      }
      return received;
    };
    const offloadFirst = pool !== undefined && (options.declaredSize ?? 0) >= pool.thresholdBytes;
    const hash = (chunk: Buffer): Error | undefined => {
      size += chunk.length;
      if (size > maxSize) return ossError('EntityTooLarge', { details: { MaxSize: String(maxSize) } });
      md5.update(chunk);
      if (job) {
        job.push(chunk);
      } else {
        crc.update(chunk);
        // Hand over at a chunk boundary: the worker continues from the register as it is now.
        if (pool && size >= pool.thresholdBytes) job = pool.offload(crc, (error) => writable.destroy(error));
      }
      return undefined;
    };
    const take = (chunk: Buffer): Error | undefined => {
      // Declared large: straight to a worker, when one is ready (else inline, as any body).
      if (offloadFirst && size === 0 && !job) job = pool.offload(crc, (error) => writable.destroy(error));
      return hash(chunk);
    };
    // The sink has the chunks; with a worker, also wait until it is within its in-flight bound.
    const written =
      (callback: (error?: Error | null) => void) =>
      (error?: Error | null): void => {
        if (error || !job) callback(error);
        else job.whenRoom(callback);
      };
    const writable = new Writable({
      // 1 MiB, not 256 KiB: while one writev is at the disk, the socket keeps being read and hashed
      // instead of paused, and the next writev takes more at once. Paired bench, 64 MiB PUT against
      // the ceiling: 0.74-0.78 -> 0.83-0.89 (bench/findings.md); small bodies never reach it.
      highWaterMark: 1024 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        const error = take(chunk);
        if (error) callback(error);
        else sink.write([chunk], written(callback));
      },
      writev(entries, callback) {
        const chunks: Buffer[] = [];
        for (const { chunk } of entries) {
          const error = take(chunk as Buffer);
          if (error) return callback(error);
          chunks.push(chunk as Buffer);
        }
        sink.write(chunks, written(callback));
      },
      final(callback) {
        if (!job) {
          hashed();
          return sink.finish(callback);
        }
        // The worker's last batches and the sink's fsync run at the same time.
        let pending = 2;
        let failure: Error | null = null;
        const settle = (error?: Error | null): void => {
          failure ??= error ?? null;
          if (--pending === 0) callback(failure);
        };
        job.end((error, finished) => {
          if (finished) crc = finished;
          // A sink that already failed fails the upload: no digests to report then.
          if (!error && !failure) hashed();
          settle(error);
        });
        sink.finish(settle);
      },
    });
    let arrived = 0;
    const countArrival = (chunk: Buffer): void => {
      arrived += chunk.length;
      if (arrived > maxSize && !writable.destroyed) {
        writable.destroy(ossError('EntityTooLarge', { details: { MaxSize: String(maxSize) } }));
      }
    };
    // A body that errors or closes before its end (client abort) fails the write.
    const stopWatchingBody = finished(body, { writable: false }, (error) => {
      if (error) writable.destroy(error);
    });
    finished(writable, (error) => {
      stopWatchingBody();
      body.off('data', countArrival);
      body.unpipe(writable);
      if (error) {
        // The worker forgets the body; nothing of it stays queued there.
        job?.cancel();
        return reject(error);
      }
      resolve(hashed());
    });
    body.pipe(writable);
    // The Writable buffers up to its high-water mark behind a write at the disk; counting what
    // arrives, not what it has processed, fails an oversized body before that buffer fills.
    body.on('data', countArrival);
  });
}

/**
 * receiveBody options that report the digests to a store caller's `PutOptions.onReceived`. The hook
 * gets its own copy of the four facts, so nothing it does can change what the store then commits.
 */
export function reportingTo(onReceived: ((body: ReceivedDigests) => void) | undefined): ReceiveBodyOptions {
  if (!onReceived) return {};
  return {
    onHashed: ({ size, etag, contentMd5, crc64 }) => onReceived({ size, etag, contentMd5, crc64 }),
  };
}

/** A sink that keeps the chunks in memory (the memory backend's storage). */
export function chunkSink(): { sink: BodySink; chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  return {
    chunks,
    sink: {
      write(more, callback) {
        chunks.push(...more);
        callback();
      },
      finish(callback) {
        callback();
      },
    },
  };
}
