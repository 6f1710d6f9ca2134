// Request signing for the benchmark client. Both dialects are HMAC-SHA1 over the same
// five-line string (SPEC.md §8.3 for OSS V1; AWS Signature V2 for s3rver), so the client does
// equal work per request whichever server it drives.
import { createHmac } from 'node:crypto';

/**
 * @param {{ prefix: string, headerPrefix: string, bucketSuffix: string, accessKeyId: string, secret: string, signsDate?: boolean }} dialect
 * @param {{ method: string, bucket: string, key?: string, subresource?: string, headers: Record<string, string> }} req
 *   header names must be lower-case
 * @returns {string} the Authorization header value
 */
export function authorization(dialect, req) {
  const h = req.headers;
  const vendor = Object.keys(h)
    .filter((k) => k.startsWith(dialect.headerPrefix))
    .sort()
    .map((k) => `${k}:${String(h[k]).trim()}\n`)
    .join('');
  const resource =
    `/${req.bucket}${req.key === undefined ? dialect.bucketSuffix : `/${req.key}`}` +
    (req.subresource ? `?${req.subresource}` : '');
  const stringToSign = [
    req.method,
    h['content-md5'] ?? '',
    h['content-type'] ?? '',
    dialect.signsDate === false ? '' : (h['date'] ?? ''),
    `${vendor}${resource}`,
  ].join('\n');
  const signature = createHmac('sha1', dialect.secret).update(stringToSign).digest('base64');
  return `${dialect.prefix} ${dialect.accessKeyId}:${signature}`;
}

export const S3RVER_DIALECT = Object.freeze({
  prefix: 'AWS',
  headerPrefix: 'x-amz-',
  // s3rver canonicalises a path-style bucket request as `/bucket` (lib/middleware/authentication.js).
  bucketSuffix: '',
  // s3rver 3.7 leaves the Date line of a header-signed request's string-to-sign empty (its
  // canonical request only takes a timestamp from presigned queries), so sign it that way.
  signsDate: false,
  accessKeyId: 'S3RVER',
  secret: 'S3RVER',
});

/** @param {string} accessKeyId @param {string} secret */
export function ossDialect(accessKeyId, secret) {
  return Object.freeze({ prefix: 'OSS', headerPrefix: 'x-oss-', bucketSuffix: '/', accessKeyId, secret });
}
