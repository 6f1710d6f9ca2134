/**
 * ListMultipartUploads (`GET /?uploads`): ongoing uploads of a bucket in key then upload-id order,
 * filtered by `prefix`, paged by `key-marker` / `upload-id-marker` / `max-uploads` (1..1000,
 * default 1000), with `delimiter` folding keys into CommonPrefixes as ListObjects does.
 */
import { el, renderXml } from '../../shared/xml.ts';
import type { UploadInfo } from '../../store/object-store.ts';
import type { Operation } from '../request-context.ts';
import { parseIntegerArgument, requireBucket } from '../multipart-request.ts';
import { encodeKey, parseEncodingType } from '../responses/encoding-type.ts';
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
  let isTruncated = false;
  let nextKeyMarker = keyMarker;
  let nextUploadIdMarker = uploadIdMarker;
  // Each round either fills the page or exhausts the store, or skips at least one common prefix.
  for (;;) {
    const room = maxUploads - uploads.length - commonPrefixes.length;
    const page = await deps.store.multipart.listUploads(bucket, {
      ...(prefix !== '' && { prefix }),
      ...(nextKeyMarker !== '' && { keyMarker: nextKeyMarker }),
      ...(nextUploadIdMarker !== '' && { uploadIdMarker: nextUploadIdMarker }),
      maxUploads: room,
    });
    let skippedPrefix = false;
    for (const upload of page.uploads) {
      const common = commonPrefixOf(upload.key, prefix, delimiter);
      if (common !== undefined) {
        commonPrefixes.push(common);
        nextKeyMarker = common + AFTER_EVERYTHING;
        nextUploadIdMarker = '';
        skippedPrefix = true;
        break;
      }
      uploads.push(upload);
      nextKeyMarker = upload.key;
      nextUploadIdMarker = upload.uploadId;
    }
    const full = uploads.length + commonPrefixes.length >= maxUploads;
    if (skippedPrefix && !full) continue;
    if (full) isTruncated = skippedPrefix || page.isTruncated || page.uploads.length > room;
    else isTruncated = page.isTruncated;
    if (full && skippedPrefix) {
      // Whether anything follows the last common prefix is only known by asking once more.
      const rest = await deps.store.multipart.listUploads(bucket, {
        ...(prefix !== '' && { prefix }),
        keyMarker: nextKeyMarker,
        maxUploads: 1,
      });
      isTruncated = rest.uploads.length > 0;
    }
    break;
  }

  let body = listMultipartUploadsResult({
    bucket,
    prefix,
    keyMarker,
    uploadIdMarker,
    delimiter,
    maxUploads,
    uploads,
    isTruncated,
    encodingType,
  });
  if (commonPrefixes.length > 0) {
    const xml = renderXml(
      el(
        'Root',
        commonPrefixes.map((p) => el('CommonPrefixes', el('Prefix', encodeKey(p, encodingType)))),
      ),
    );
    const inner = xml.slice(xml.indexOf('<Root>') + '<Root>'.length, xml.lastIndexOf('</Root>'));
    body = body.replace('</ListMultipartUploadsResult>', `${inner}</ListMultipartUploadsResult>`);
  }
  return { status: 200, headers: { 'Content-Type': 'application/xml' }, body };
};

function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (delimiter === '') return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at === -1 ? undefined : key.slice(0, at + delimiter.length);
}
