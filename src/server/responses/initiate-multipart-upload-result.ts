/**
 * The InitiateMultipartUploadResult document (OSS InitiateMultipartUpload): Bucket, Key, UploadId,
 * plus EncodingType when the request asked for url encoding of the key.
 */
import { el, renderXml } from '../../shared/xml.ts';
import type { UploadInfo } from '../../store/object-store.ts';
import { encodeKey, type EncodingType } from './encoding-type.ts';

export function initiateMultipartUploadResult(upload: UploadInfo, encodingType?: EncodingType): string {
  return renderXml(
    el(
      'InitiateMultipartUploadResult',
      el('Bucket', upload.bucket),
      el('Key', encodeKey(upload.key, encodingType)),
      el('UploadId', upload.uploadId),
      encodingType !== undefined && el('EncodingType', encodingType),
    ),
  );
}
