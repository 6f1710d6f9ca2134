/**
 * GetObjectMeta (`HEAD|GET /key?objectMeta`): the object's basic facts only (ETag, size,
 * Last-Modified, CRC64), never its user metadata or body.
 */
import { requireObject } from '../request-arguments.ts';
import { quoteEtag } from '../object-meta.ts';
import type { Operation } from '../pipeline/request-context.ts';

export const getObjectMeta: Operation = async (ctx, deps) => {
  const { bucket, key } = requireObject(ctx);
  const object = await deps.store.headObject(bucket, key);
  const headers = {
    ETag: quoteEtag(object.etag),
    'Last-Modified': object.lastModified.toUTCString(),
    'x-oss-hash-crc64ecma': object.crc64,
  };
  // FIDELITY: OSS documents GetObjectMeta as HEAD only; upcall also answers GET ?objectMeta, with
  // the same headers and an empty body.
  // On HEAD, Content-Length is the object's size (what ali-oss reports as `size`); a GET has an
  // empty body, so its Content-Length must stay 0.
  if (ctx.method === 'HEAD') return { status: 200, headers: { ...headers, 'Content-Length': object.size } };
  return { status: 200, headers };
};
