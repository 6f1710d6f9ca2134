/**
 * The CompleteMultipartUploadResult document (OSS CompleteMultipartUpload): EncodingType (when
 * asked for), Location, Bucket, Key and the quoted multipart ETag (`"<MD5-of-part-MD5s>-<N>"`).
 */
import { el, renderXml } from '../../shared/xml.ts';
import type { StoredObject } from '../../store/object-store.ts';
import { encodeKey, type EncodingType } from './encoding-type.ts';

export interface CompleteMultipartUploadResultInput {
  object: StoredObject;
  /** The object's URL as the client addressed the server (`http://bucket.host/key`). */
  location: string;
  encodingType?: EncodingType | undefined;
}

export function completeMultipartUploadResult(input: CompleteMultipartUploadResultInput): string {
  const { object, location, encodingType } = input;
  return renderXml(
    el(
      'CompleteMultipartUploadResult',
      encodingType !== undefined && el('EncodingType', encodingType),
      el('Location', location),
      el('Bucket', object.bucket),
      el('Key', encodeKey(object.key, encodingType)),
      el('ETag', `"${object.etag}"`),
    ),
  );
}
