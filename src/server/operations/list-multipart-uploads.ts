/**
 * ListMultipartUploads (`GET /?uploads`): ongoing uploads of a bucket in key then upload-id order,
 * filtered by `prefix`, paged by `key-marker` / `upload-id-marker` / `max-uploads` (1..1000,
 * default 1000), with `delimiter` folding keys into CommonPrefixes as ListObjects does.
 *
 * Invariant: paging with the returned NextKeyMarker / NextUploadIdMarker visits every upload and
 * every common prefix exactly once (a common prefix given back as key-marker is skipped whole).
 */
import type { UploadInfo } from '../../store/object-store.ts';
import type { Operation } from '../pipeline/request-context.ts';
import { parseIntegerArgument, requireBucket } from '../request-arguments.ts';
import { parseEncodingType } from '../responses/encoding-type.ts';
import { listMultipartUploadsResult } from '../responses/list-multipart-uploads-result.ts';

/** Sorts after every character a key can hold, so `<prefix><MAX>` skips a whole common prefix. */
const AFTER_EVERYTHING = '\u{10FFFF}';

export const listMultipartUploads: Operation = async (ctx, deps) => {
  const bucket = requireBucket(ctx);
  const maxUploads = parseIntegerArgument(ctx.query, 'max-uploads', { fallback: 1000, min: 1, max: 1000 });
  const encodingType = parseEncodingType(ctx.query.get('encoding-type') ?? undefined);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const keyMarker = ctx.query.get('key-marker') ?? '';
  // OSS: upload-id-marker only counts together with key-marker.
  const uploadIdMarker = keyMarker === '' ? '' : (ctx.query.get('upload-id-marker') ?? '');

  const uploads: UploadInfo[] = [];
  const commonPrefixes: string[] = [];
  // The store position: after (key, uploadId); a marker that is a common prefix skips it whole.
  let afterKey =
    commonPrefixOf(keyMarker, prefix, delimiter) === keyMarker ? keyMarker + AFTER_EVERYTHING : keyMarker;
  let afterUploadId = afterKey === keyMarker ? uploadIdMarker : '';
  let isTruncated = false;
  let nextKeyMarker = '';
  let nextUploadIdMarker = '';

  // Each round takes one page from the store; a common prefix ends the round so that the next one
  // starts after everything it covers.
  for (;;) {
    if (uploads.length + commonPrefixes.length >= maxUploads) {
      // The page is full: it is truncated if anything at all follows.
      const rest = await deps.store.multipart.listUploads(bucket, query(prefix, afterKey, afterUploadId, 1));
      isTruncated = rest.uploads.length > 0;
      break;
    }
    const room = maxUploads - uploads.length - commonPrefixes.length;
    const page = await deps.store.multipart.listUploads(bucket, query(prefix, afterKey, afterUploadId, room));
    let skipped = false;
    for (const upload of page.uploads) {
      const common = commonPrefixOf(upload.key, prefix, delimiter);
      if (common !== undefined) {
        commonPrefixes.push(common);
        nextKeyMarker = common;
        nextUploadIdMarker = '';
        afterKey = common + AFTER_EVERYTHING;
        afterUploadId = '';
        skipped = true;
        break;
      }
      uploads.push(upload);
      nextKeyMarker = upload.key;
      nextUploadIdMarker = upload.uploadId;
      afterKey = upload.key;
      afterUploadId = upload.uploadId;
    }
    if (!skipped && !page.isTruncated) break;
  }

  return {
    status: 200,
    headers: { 'Content-Type': 'application/xml' },
    body: listMultipartUploadsResult({
      bucket,
      prefix,
      keyMarker,
      uploadIdMarker,
      delimiter,
      maxUploads,
      uploads,
      commonPrefixes,
      isTruncated,
      nextKeyMarker,
      nextUploadIdMarker,
      encodingType,
    }),
  };
};

function query(prefix: string, afterKey: string, afterUploadId: string, maxUploads: number) {
  return {
    ...(prefix !== '' && { prefix }),
    ...(afterKey !== '' && { keyMarker: afterKey }),
    ...(afterUploadId !== '' && { uploadIdMarker: afterUploadId }),
    maxUploads,
  };
}

/** The common prefix `key` folds into under `delimiter`, or undefined when it is listed itself. */
function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (delimiter === '' || !key.startsWith(prefix)) return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at === -1 ? undefined : key.slice(0, at + delimiter.length);
}
