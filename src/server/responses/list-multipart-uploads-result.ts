/**
 * The ListMultipartUploadsResult document (OSS ListMultipartUploads): the query echoed back, next
 * markers when truncated, one Upload (Key, UploadId, StorageClass, Initiated) per ongoing upload, then the
 * CommonPrefixes a delimiter folded keys into.
 */
import { el, renderXml } from '../../shared/xml.ts';
import type { UploadInfo } from '../../store/object-store.ts';
import { encodeKey, type EncodingType } from './encoding-type.ts';

export interface ListMultipartUploadsResultInput {
  bucket: string;
  prefix: string;
  keyMarker: string;
  uploadIdMarker: string;
  delimiter: string;
  maxUploads: number;
  uploads: readonly UploadInfo[];
  commonPrefixes?: readonly string[];
  isTruncated: boolean;
  /** Where the next page starts: the last upload's key, or the last common prefix. */
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
  encodingType?: EncodingType | undefined;
}

export function listMultipartUploadsResult(input: ListMultipartUploadsResultInput): string {
  const { uploads, encodingType } = input;
  const last = uploads.at(-1);
  const key = (k: string): string => encodeKey(k, encodingType);
  const nextKeyMarker = input.nextKeyMarker ?? last?.key ?? '';
  const nextUploadIdMarker = input.nextUploadIdMarker ?? last?.uploadId ?? '';
  return renderXml(
    el(
      'ListMultipartUploadsResult',
      el('Bucket', input.bucket),
      encodingType !== undefined && el('EncodingType', encodingType),
      el('KeyMarker', key(input.keyMarker)),
      el('UploadIdMarker', input.uploadIdMarker),
      el('NextKeyMarker', input.isTruncated ? key(nextKeyMarker) : ''),
      el('NextUploadIdMarker', input.isTruncated ? nextUploadIdMarker : ''),
      el('Delimiter', key(input.delimiter)),
      el('Prefix', key(input.prefix)),
      el('MaxUploads', input.maxUploads),
      el('IsTruncated', String(input.isTruncated)),
      uploads.map((upload) =>
        el(
          'Upload',
          el('Key', key(upload.key)),
          el('UploadId', upload.uploadId),
          // FIDELITY: OSS's docs list StorageClass in an Upload without fixing its place; upcall
          // puts it where S3 does, before Initiated (XML readers, ali-oss's included, go by name).
          el('StorageClass', upload.storageClass),
          el('Initiated', upload.initiated.toISOString()),
        ),
      ),
      (input.commonPrefixes ?? []).map((prefix) => el('CommonPrefixes', el('Prefix', key(prefix)))),
    ),
  );
}
