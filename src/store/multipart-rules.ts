/**
 * The checks CompleteMultipartUpload makes on the client's part list, shared by every backend, and
 * the upload-id format.
 *
 * Order of checks (S3's, which OSS follows): the list must be strictly ascending (InvalidPartOrder),
 * every listed part must exist with the listed ETag (InvalidPart), and every part but the last must
 * be at least 100 KiB (EntityTooSmall).
 */
import { randomBytes } from 'node:crypto';
import { normalizeEtag } from '../shared/etag.ts';
import { ossError } from '../shared/oss-error.ts';
import { compareKeys } from './key-order.ts';
import type { CompletedPart, PartRecord, UploadInfo } from './object-store.ts';

/** OSS's minimum size of every part but the last. */
export const MIN_PART_SIZE = 100 * 1024;

/**
 * Resolves the client's list against the stored parts, returning the stored records in order.
 * @throws MalformedXML (empty list) | InvalidPartOrder | InvalidPart | EntityTooSmall
 */
export function resolveCompletedParts<P extends PartRecord>(
  uploadId: string,
  listed: readonly CompletedPart[],
  stored: (partNumber: number) => P | undefined,
): P[] {
  // FIDELITY: an empty part list is MalformedXML, as S3 answers; OSS documents no code for it.
  if (listed.length === 0) throw ossError('MalformedXML');
  for (let i = 1; i < listed.length; i++) {
    if (listed[i]!.partNumber <= listed[i - 1]!.partNumber)
      throw ossError('InvalidPartOrder', { details: { UploadId: uploadId } });
  }
  const parts: P[] = [];
  for (const { partNumber, etag } of listed) {
    const part = stored(partNumber);
    if (part === undefined || part.etag !== normalizeEtag(etag))
      throw ossError('InvalidPart', {
        details: { UploadId: uploadId, PartNumber: String(partNumber), ETag: normalizeEtag(etag) },
      });
    parts.push(part);
  }
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!;
    if (part.size < MIN_PART_SIZE)
      throw ossError('EntityTooSmall', {
        details: {
          UploadId: uploadId,
          PartNumber: String(part.partNumber),
          MinSizeAllowed: String(MIN_PART_SIZE),
          ProposedSize: String(part.size),
        },
      });
  }
  return parts;
}

let lastMs = 0;
let sequence = 0;

/**
 * A new upload id: 32 upper-case hex digits like OSS's, time-ordered (ms timestamp, then a
 * sequence, then randomness) so that ListMultipartUploads' upload-id-marker order is initiation order.
 */
export function newUploadId(now: number = Date.now()): string {
  if (now <= lastMs) sequence++;
  else {
    lastMs = now;
    sequence = 0;
  }
  const time = lastMs.toString(16).padStart(12, '0');
  const seq = (sequence & 0xffff).toString(16).padStart(4, '0');
  return `${time}${seq}${randomBytes(8).toString('hex')}`.toUpperCase();
}

/** ListMultipartUploads order: key (UTF-8 bytes), then upload id (= initiation order). */
export function compareUploads(a: UploadInfo, b: UploadInfo): number {
  return compareKeys(a.key, b.key) || (a.uploadId < b.uploadId ? -1 : a.uploadId > b.uploadId ? 1 : 0);
}

/**
 * ListMultipartUploads markers: without upload-id-marker, uploads of keys after key-marker; with
 * it, also the uploads of key-marker itself whose id sorts after upload-id-marker.
 */
export function isAfterUploadMarker(
  upload: UploadInfo,
  keyMarker: string | undefined,
  uploadIdMarker: string | undefined,
): boolean {
  if (keyMarker === undefined || keyMarker === '') return true;
  const order = compareKeys(upload.key, keyMarker);
  if (order > 0) return true;
  return (
    order === 0 && uploadIdMarker !== undefined && uploadIdMarker !== '' && upload.uploadId > uploadIdMarker
  );
}
