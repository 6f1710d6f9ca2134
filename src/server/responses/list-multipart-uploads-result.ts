/**
 * The ListMultipartUploadsResult document (OSS ListMultipartUploads): the query echoed back,
 * next markers when truncated, and one Upload (Key, UploadId, Initiated) per ongoing upload.
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
  isTruncated: boolean;
  encodingType?: EncodingType | undefined;
}

export function listMultipartUploadsResult(input: ListMultipartUploadsResultInput): string {
  const { uploads, encodingType } = input;
  const last = uploads.at(-1);
  const key = (k: string): string => encodeKey(k, encodingType);
  return renderXml(
    el(
      'ListMultipartUploadsResult',
      el('Bucket', input.bucket),
      encodingType !== undefined && el('EncodingType', encodingType),
      el('KeyMarker', key(input.keyMarker)),
      el('UploadIdMarker', input.uploadIdMarker),
      el('NextKeyMarker', input.isTruncated && last !== undefined ? key(last.key) : ''),
      el('NextUploadIdMarker', input.isTruncated && last !== undefined ? last.uploadId : ''),
      el('Delimiter', key(input.delimiter)),
      el('Prefix', key(input.prefix)),
      el('MaxUploads', input.maxUploads),
      el('IsTruncated', String(input.isTruncated)),
      uploads.map((upload) =>
        el(
          'Upload',
          el('Key', key(upload.key)),
          el('UploadId', upload.uploadId),
          el('Initiated', upload.initiated.toISOString()),
        ),
      ),
    ),
  );
}
