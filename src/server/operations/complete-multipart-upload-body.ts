/**
 * Reads the CompleteMultipartUpload request document (OSS CompleteMultipartUpload):
 * `<CompleteMultipartUpload><Part><PartNumber>N</PartNumber><ETag>"…"</ETag></Part>…`.
 *
 * Only the shape is checked here; whether the parts exist, match their ETags, are in order and are
 * large enough is the store's contract (MultipartStore.complete). Invariant: anything that is not
 * such a document is MalformedXML, never a crash.
 */
import { ossError } from '../../shared/oss-error.ts';
import { childElements, childText, parseXml } from '../../shared/xml.ts';
import type { CompletedPart } from '../../store/object-store.ts';

/** 10000 parts of ~120 bytes each, with room for whitespace. */
export const MAX_COMPLETE_BODY_BYTES = 2 * 1024 * 1024;

/** @throws MalformedXML (not well-formed, wrong root, a Part without a numeric PartNumber or an ETag, no parts) */
export function parseCompleteMultipartUpload(text: string): CompletedPart[] {
  const doc = parseXml(text, MAX_COMPLETE_BODY_BYTES);
  const root = doc['CompleteMultipartUpload'];
  if (root === undefined || Array.isArray(root)) throw ossError('MalformedXML');
  if (typeof root === 'string') {
    // `<CompleteMultipartUpload/>` or text only: no parts.
    throw ossError('MalformedXML');
  }
  const parts: CompletedPart[] = [];
  for (const part of childElements(root, 'Part')) {
    if (typeof part === 'string') throw ossError('MalformedXML');
    const number = childText(part, 'PartNumber')?.trim();
    const etag = childText(part, 'ETag')?.trim();
    if (number === undefined || !/^\d{1,9}$/.test(number) || etag === undefined)
      throw ossError('MalformedXML');
    parts.push({ partNumber: Number(number), etag });
  }
  // FIDELITY: an empty part list is MalformedXML, as S3 answers; OSS documents no code for it.
  if (parts.length === 0) throw ossError('MalformedXML');
  return parts;
}
