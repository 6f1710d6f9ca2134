/**
 * UploadPart (`PUT /key?partNumber=N&uploadId=…`): streams one part (at most 5 GiB) into the
 * upload, replacing an earlier part with the same number. Returns the part's quoted MD5 ETag and
 * its CRC-64, which the client lists again in CompleteMultipartUpload.
 *
 * Invariant: a part whose body does not match the `Content-MD5` / `x-oss-hash-crc64ecma` the client
 * sent is never stored: the store's own digests are compared in `beforeCommit`, before the part
 * replaces an earlier one (object-store.ts), as for PutObject.
 * `x-oss-callback` is ignored here (ali-oss copies it onto parts; SPEC.md §7.4).
 */
import { integrityCheck } from '../integrity.ts';
import { MAX_PART_SIZE, parsePartNumber, uploadRefOf } from '../request-arguments.ts';
import { quoteEtag } from '../object-meta.ts';
import type { Operation } from '../pipeline/request-context.ts';
import { declaredBodySize } from './put-object.ts';

export const uploadPart: Operation = async (ctx, deps) => {
  const upload = uploadRefOf(ctx);
  const partNumber = parsePartNumber(ctx.query.get('partNumber'));
  const digests = integrityCheck(ctx.headers);
  const part = await deps.store.multipart.uploadPart(upload, partNumber, ctx.body, {
    maxSize: MAX_PART_SIZE,
    ...declaredBodySize(ctx),
    ...(digests === undefined ? {} : { beforeCommit: digests }),
  });
  return {
    status: 200,
    headers: {
      ETag: quoteEtag(part.etag),
      'Content-MD5': Buffer.from(part.etag, 'hex').toString('base64'),
      'x-oss-hash-crc64ecma': part.crc64,
    },
  };
};
