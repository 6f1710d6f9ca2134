/**
 * Upload progress for the client: a pass-through that counts bytes as a request body is read, so
 * progress follows what actually left for the server rather than what was read from disk ahead
 * of the socket. Used by PutObject and by each part of a multipart upload.
 */
import { Transform, type Readable } from 'node:stream';

export type ProgressListener = (loadedBytes: number, totalBytes: number) => void;

/** `source` itself when nobody listens; otherwise `source` piped through a byte counter. */
export function withProgress(
  source: Readable,
  total: number,
  listener: ProgressListener | undefined,
): Readable {
  if (listener === undefined) return source;
  let loaded = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      loaded += chunk.byteLength;
      listener(loaded, total);
      done(null, chunk);
    },
  });
  source.on('error', (error) => counter.destroy(error));
  return source.pipe(counter);
}
