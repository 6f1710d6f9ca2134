/**
 * The ListPartsResult document (OSS ListParts): the upload's identity, paging markers and one Part
 * per uploaded part (PartNumber, LastModified, quoted ETag, HashCrc64ecma, Size), and the
 * StorageClass the completed object will have.
 */
import { el, renderXml } from '../../shared/xml.ts';
import type { PartRecord, StorageClass, UploadRef } from '../../store/object-store.ts';
import { encodeKey, type EncodingType } from './encoding-type.ts';

export interface ListPartsResultInput {
  upload: UploadRef;
  partNumberMarker: number;
  maxParts: number;
  parts: readonly PartRecord[];
  isTruncated: boolean;
  encodingType?: EncodingType | undefined;
  /** The class the completed object will have. */
  storageClass: StorageClass;
}

export function listPartsResult(input: ListPartsResultInput): string {
  const { upload, parts, encodingType } = input;
  const last = parts.at(-1);
  return renderXml(
    el(
      'ListPartsResult',
      el('Bucket', upload.bucket),
      encodingType !== undefined && el('EncodingType', encodingType),
      el('Key', encodeKey(upload.key, encodingType)),
      el('UploadId', upload.uploadId),
      el('PartNumberMarker', input.partNumberMarker),
      el('NextPartNumberMarker', last?.partNumber ?? input.partNumberMarker),
      el('MaxParts', input.maxParts),
      el('IsTruncated', String(input.isTruncated)),
      el('StorageClass', input.storageClass),
      parts.map((part) =>
        el(
          'Part',
          el('PartNumber', part.partNumber),
          el('LastModified', part.lastModified.toISOString()),
          el('ETag', `"${part.etag}"`),
          el('HashCrc64ecma', part.crc64),
          el('Size', part.size),
        ),
      ),
    ),
  );
}
