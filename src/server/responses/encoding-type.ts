/**
 * `encoding-type=url` for multipart responses (OSS InitiateMultipartUpload, CompleteMultipartUpload,
 * ListParts, ListMultipartUploads): keys and key markers are percent-encoded so that keys XML 1.0
 * cannot carry still round-trip. Invariant: with no encoding type a key is written verbatim.
 */
import { ossError } from '../../shared/oss-error.ts';

export type EncodingType = 'url';

/** Reads the `encoding-type` query value. @throws InvalidEncodingType for anything but `url` */
export function parseEncodingType(value: string | undefined): EncodingType | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.toLowerCase() === 'url') return 'url';
  throw ossError('InvalidEncodingType', { details: { ArgumentName: 'encoding-type', ArgumentValue: value } });
}

/** The key as written in the response document. */
export function encodeKey(key: string, encodingType: EncodingType | undefined): string {
  // OSS url encoding escapes like encodeURIComponent (ali-oss reads it back with decodeURIComponent).
  return encodingType === 'url' ? encodeURIComponent(key) : key;
}
