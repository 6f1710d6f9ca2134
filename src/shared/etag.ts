/**
 * ETags as OSS writes them. Stored and passed around unquoted, upper-case hex; quoted only on the
 * wire (the `ETag` header and XML `<ETag>` elements carry the quotes).
 *
 * - PutObject / PostObject / one-shot copy: hex MD5 of the body, e.g. `D8E8FCA2DC0F896FD7CB4CB0031BA249`.
 * - CompleteMultipartUpload: hex MD5 of the concatenated *binary* part MD5s, then `-<part count>`
 *   (the S3 scheme OSS follows; SPEC.md §7.3 `${etag}` is `<HEX>-<N>`).
 */
import { createHash } from 'node:crypto';

/** Upper-case hex of an MD5 digest. */
export function etagFromMd5(md5: Uint8Array): string {
  return Buffer.from(md5.buffer, md5.byteOffset, md5.byteLength).toString('hex').toUpperCase();
}

/** ETag of a single-request upload: upper-case hex MD5 of the body. */
export function md5Etag(body: Uint8Array): string {
  return etagFromMd5(createHash('md5').update(body).digest());
}

/** Multipart ETag from the listed parts' ETags (hex MD5s, any case, quoted or not), in part order. */
export function multipartEtag(partEtags: readonly string[]): string {
  const hash = createHash('md5');
  for (const etag of partEtags) hash.update(Buffer.from(unquoteEtag(etag), 'hex'));
  return `${etagFromMd5(hash.digest())}-${partEtags.length}`;
}

/** `"ETAG"`: the form used in the `ETag` header and XML. */
export function quoteEtag(etag: string): string {
  return `"${unquoteEtag(etag)}"`;
}

/** Strips surrounding whitespace and one pair of double quotes (also the `&quot;` form SDKs send in XML). */
export function unquoteEtag(etag: string): string {
  let value = etag.trim();
  if (value.startsWith('&quot;') && value.endsWith('&quot;') && value.length >= 12)
    value = value.slice(6, -6);
  else if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
  return value;
}

/** The canonical form for comparing an ETag a client sent with a stored one: unquoted, upper-case. */
export function normalizeEtag(etag: string): string {
  return unquoteEtag(etag).toUpperCase();
}

/** True when two ETags name the same content, whatever their quoting and case. */
export function etagsMatch(a: string, b: string): boolean {
  return normalizeEtag(a) === normalizeEtag(b);
}
