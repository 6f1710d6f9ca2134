/**
 * Receives an upload body for a backend: pipes the client's Readable through MD5 + CRC-64 hashing
 * into the backend's sink (a temp file, or a chunk list in memory), counting bytes.
 *
 * Invariants: the body is never buffered whole here (the sink decides what to keep); more than
 * `maxSize` bytes fail with EntityTooLarge as soon as they arrive; any error (client abort, stream
 * error, sink error) rejects and the caller discards whatever the sink received. Nothing becomes
 * visible here: committing is the backend's job, after this resolves.
 *
 * The body is piped, not pipelined: when the store gives up (EntityTooLarge, a disk error) the
 * client's stream is unpiped but not destroyed, so the HTTP layer can still answer with the error
 * (and then drain or close the connection as it sees fit).
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, Writable, finished, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Crc64 } from '../shared/crc64.ts';
import { etagFromMd5 } from '../shared/etag.ts';
import { ossError } from '../shared/oss-error.ts';

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

/** Counts and hashes every chunk on its way to the sink; fails past `maxSize`. */
class HashingTransform extends Transform {
  readonly md5: Hash = createHash('md5');
  readonly crc = new Crc64();
  size = 0;
  readonly #maxSize: number;

  constructor(maxSize: number) {
    super();
    this.#maxSize = maxSize;
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    this.size += buf.length;
    if (this.size > this.#maxSize) {
      callback(ossError('EntityTooLarge', { details: { MaxSize: String(this.#maxSize) } }));
      return;
    }
    this.md5.update(buf);
    this.crc.update(buf);
    callback(null, buf);
  }
}

/**
 * Streams `body` into `sink`, resolving with the body's size and hashes once the sink has
 * finished (for a file sink: once all bytes are handed to the OS; fsync is the caller's).
 * @throws EntityTooLarge | the stream's own error (e.g. a client abort)
 */
export async function receiveBody(
  body: Readable,
  sink: NodeJS.WritableStream,
  maxSize: number = Number.POSITIVE_INFINITY,
): Promise<ReceivedBody> {
  const hashing = new HashingTransform(maxSize);
  const done = pipeline(hashing, sink);
  // A body that errors or closes before its end (client abort) fails the write.
  const stopWatching = finished(body, { writable: false }, (error) => {
    if (error) hashing.destroy(error);
  });
  body.pipe(hashing);
  try {
    await done;
  } finally {
    stopWatching();
    body.unpipe(hashing);
  }
  const md5 = hashing.md5.digest();
  return {
    size: hashing.size,
    md5,
    etag: etagFromMd5(md5),
    contentMd5: md5.toString('base64'),
    crc64: hashing.crc.digest(),
  };
}

/** A sink that keeps the chunks (the memory backend's storage; tests). */
export function chunkSink(): { sink: Writable; chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return { sink, chunks };
}
