/**
 * Reads a small XML request document (DeleteMultipleObjects, PutBucket, CompleteMultipartUpload)
 * into a string, with a hard cap: bodies are attacker-sized, so this stops reading as soon as the
 * cap is passed. The only place a request body is buffered, and only for these documents.
 */
import type { Readable } from 'node:stream';
import { ossError } from '../shared/oss-error.ts';
import { MAX_XML_BODY_BYTES } from '../shared/xml.ts';

/** @throws MalformedXML (over `maxBytes`) | whatever the stream fails with */
export function readXmlBody(body: Readable, maxBytes = MAX_XML_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        // Stop collecting but do not destroy the stream: the socket must stay usable for the
        // error response; node discards the unread rest once the response is finished.
        cleanup();
        body.pause();
        reject(ossError('MalformedXML', { details: { MaxBodyBytes: String(maxBytes) } }));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size).toString('utf8'));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
  });
}
