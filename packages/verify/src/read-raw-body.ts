/**
 * Reads a request body as raw bytes with a size cap, for the node-stream adapters. Signatures are
 * over the exact bytes (SPEC.md §1.1), so nothing here decodes or trims. Invariant: never buffers
 * more than `maxBytes` + one chunk, and rejects early when Content-Length already says too much.
 */
import type { IncomingMessage } from 'node:http';
import { CallbackVerificationError } from './callback-verification-error.ts';

export async function readRawBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new CallbackVerificationError('body-too-large', `The callback body exceeds ${maxBytes} bytes.`);
  }
  if (req.readableEnded) {
    throw new CallbackVerificationError(
      'body-unavailable',
      'The request body was already consumed by other middleware (e.g. express.json()); mount the callback route before body parsers.',
    );
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        // Stop reading but keep the socket: the adapter still answers 413 (with Connection: close)
        // so OSS or the developer sees why, instead of a reset connection.
        cleanup();
        req.pause();
        reject(
          new CallbackVerificationError('body-too-large', `The callback body exceeds ${maxBytes} bytes.`),
        );
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      if (!req.complete) reject(new Error('The request was aborted before its body was complete.'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
