/**
 * OSS signature V1 (SPEC.md §8.3), the default of ali-oss:
 *
 *   StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n
 *                  (x-oss-* headers: lower-case name, trimmed value, sorted, `k:v\n` each)
 *                  CanonicalizedResource
 *   Signature    = base64(HMAC-SHA1(AccessKeySecret, UTF-8(StringToSign)))
 *   Authorization: OSS <AccessKeyId>:<Signature>
 *
 * The Date line is the `Date` header, the `x-oss-date` header (ali-oss sends no Date), or, for a
 * presigned URL, the `Expires` query value; the caller picks it (see `v1DateLine`).
 * Pure: no clock, no I/O. Invariant: byte-for-byte what ali-oss signUtils.buildCanonicalString and
 * computeSignature produce (checked against them in signature-v1.test.ts).
 */
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './constant-time-equal.ts';

/** Request headers with lower-case names, values already decoded to text. */
export type SignableHeaders = Readonly<Record<string, string | undefined>>;

export interface V1StringToSignInput {
  method: string;
  headers: SignableHeaders;
  /** The Date line (see v1DateLine) or, for presigned URLs, the Expires value. */
  date: string;
  /** From canonical-resource.ts. */
  canonicalizedResource: string;
}

export function v1StringToSign(input: V1StringToSignInput): string {
  const { headers } = input;
  const lines = [
    input.method.toUpperCase(),
    headers['content-md5'] ?? '',
    headers['content-type'] ?? '',
    input.date,
  ];
  const ossHeaders = Object.keys(headers)
    .filter((name) => name.startsWith('x-oss-') && headers[name] !== undefined)
    .sort();
  for (const name of ossHeaders) lines.push(`${name}:${(headers[name] ?? '').trim()}`);
  lines.push(input.canonicalizedResource);
  return lines.join('\n');
}

/**
 * The Date line of a header-signed V1 request: `x-oss-date` when present, else `Date`. OSS's V1
 * header-signature doc says so ("when both are present, x-oss-date wins"), oss2 does the same, and
 * ali-oss sends only `x-oss-date`.
 */
export function v1DateLine(headers: SignableHeaders): string | undefined {
  return headers['x-oss-date'] ?? headers['date'];
}

export function v1Signature(accessKeySecret: string, stringToSign: string): string {
  return createHmac('sha1', accessKeySecret).update(stringToSign, 'utf8').digest('base64');
}

export function v1Authorization(accessKeyId: string, accessKeySecret: string, stringToSign: string): string {
  return `OSS ${accessKeyId}:${v1Signature(accessKeySecret, stringToSign)}`;
}

export function verifyV1Signature(accessKeySecret: string, stringToSign: string, provided: string): boolean {
  return constantTimeEqual(v1Signature(accessKeySecret, stringToSign), provided);
}

export interface V1Authorization {
  accessKeyId: string;
  signature: string;
}

/**
 * Parses `OSS <AccessKeyId>:<Signature>`; undefined when malformed. The access key id is what lies
 * between `OSS ` and the last colon (base64 signatures never contain a colon).
 */
export function parseV1Authorization(value: string): V1Authorization | undefined {
  if (!value.startsWith('OSS ')) return undefined;
  const rest = value.slice(4).trim();
  const colon = rest.lastIndexOf(':');
  if (colon <= 0 || colon === rest.length - 1) return undefined;
  const accessKeyId = rest.slice(0, colon);
  const signature = rest.slice(colon + 1);
  if (/\s/.test(accessKeyId) || /\s/.test(signature)) return undefined;
  return { accessKeyId, signature };
}
