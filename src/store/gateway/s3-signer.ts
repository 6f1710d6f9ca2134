/**
 * AWS Signature Version 4 for the S3 engine behind the gateway (AWS "Authenticating Requests:
 * Using the Authorization Header"), header-signed requests only.
 *
 *   CanonicalRequest = VERB \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
 *                      SignedHeaders \n x-amz-content-sha256
 *   StringToSign     = AWS4-HMAC-SHA256 \n <yyyymmddTHHMMSSZ> \n <scope> \n hex(sha256(CanonicalRequest))
 *   scope            = <yyyymmdd>/<region>/s3/aws4_request
 *   SigningKey       = HMAC chain over "AWS4"+secret: date, region, "s3", "aws4_request"
 *
 * The OSS V4 signer (src/shared/signature-v4.ts) has the same shape, and the parts that are the same
 * algorithm are shared: RFC 3986 encoding and the canonical query (S3 writes an empty value as
 * `name=`). The rest differs in every constant (algorithm name, key prefix, terminator) and in
 * which headers are signed (OSS: a default set plus AdditionalHeaders; S3: exactly the SignedHeaders
 * listed), so it is written out here rather than parameterising the OSS signer.
 *
 * Pure but for a cache of the derived signing key (signingKey): the clock is an argument.
 * Invariant: every header the caller sets is signed (undici adds only transport headers such as a
 * bodiless PUT's `content-length: 0`), so nothing the client chose can be changed on the way
 * without breaking the signature.
 */
import { createHash, createHmac } from 'node:crypto';
import { rfc3986Encode, v4CanonicalQuery } from '../../shared/signature-v4.ts';

export const S3_ALGORITHM = 'AWS4-HMAC-SHA256';
export const S3_UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface S3SignInput {
  method: string;
  /** The URI path exactly as sent: already encoded (s3Path). */
  path: string;
  /** Decoded query parameters. */
  query: readonly (readonly [string, string])[];
  /** Lower-case names; must include `host`. Every one is signed. */
  headers: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the body, or UNSIGNED-PAYLOAD; sent as x-amz-content-sha256. */
  payloadHash: string;
  date: Date;
}

/** `/<segment>/<segment>…` with each segment RFC 3986-encoded; S3 encodes object keys once. */
export function s3Path(...segments: string[]): string {
  return `/${segments.map((s) => rfc3986Encode(s).replace(/%2F/g, '/')).join('/')}`;
}

/** The query string to send, in the same encoding as the canonical query. */
export function s3QueryString(query: readonly (readonly [string, string])[]): string {
  return v4CanonicalQuery(query, { emptyValue: 'equals' });
}

/** The headers to send: the input's plus x-amz-date, x-amz-content-sha256 and Authorization. */
export function signS3Request(credentials: S3Credentials, input: S3SignInput): Record<string, string> {
  const timestamp = input.date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const headers: Record<string, string> = {
    ...input.headers,
    'x-amz-date': timestamp,
    'x-amz-content-sha256': input.payloadHash,
  };
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    input.method,
    input.path,
    s3QueryString(input.query),
    names.map((n) => `${n}:${(headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join(''),
    signedHeaders,
    input.payloadHash,
  ].join('\n');
  const scope = `${timestamp.slice(0, 8)}/${credentials.region}/s3/aws4_request`;
  const stringToSign = [S3_ALGORITHM, timestamp, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = signingKey(credentials, timestamp.slice(0, 8));
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  headers.authorization = `${S3_ALGORITHM} Credential=${credentials.accessKeyId}/${scope},SignedHeaders=${signedHeaders},Signature=${signature}`;
  return headers;
}

/**
 * The last signing key derived, per secret: it changes only with the day (and region), and its
 * four HMACs were most of the signer's CPU for a gateway GET (a profile under 4 KiB GETs,
 * bench/findings.md). Keyed by the secret itself, so credentials never share a key.
 */
const signingKeys = new Map<string, { day: string; region: string; key: Buffer }>();

function signingKey(credentials: S3Credentials, day: string): Buffer {
  const cached = signingKeys.get(credentials.secretAccessKey);
  if (cached !== undefined && cached.day === day && cached.region === credentials.region) return cached.key;
  let key = createHmac('sha256', `AWS4${credentials.secretAccessKey}`).update(day).digest();
  for (const part of [credentials.region, 's3', 'aws4_request']) {
    key = createHmac('sha256', key).update(part).digest();
  }
  // One entry per secret a process uses (a gateway has one); a rotated secret's entry is dropped
  // once a handful are held.
  if (signingKeys.size >= 16 && cached === undefined) signingKeys.clear();
  signingKeys.set(credentials.secretAccessKey, { day, region: credentials.region, key });
  return key;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
