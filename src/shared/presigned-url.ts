/**
 * Presigned URLs, V1 and V4 (SPEC.md §8.3): the signing half, for our own client and tests. The
 * verifying half is in server/authenticate.ts, built from the same string-to-sign functions.
 *
 * V1: `?OSSAccessKeyId=…&Expires=<unix s>&Signature=<base64>` plus the signed sub-resources
 *     (`security-token`, `callback`, `callback-var`, `response-*`, `x-oss-process`); the Date line of
 *     the V1 string-to-sign is the Expires value.
 * V4: `?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=…&x-oss-date=…&x-oss-expires=<s>
 *     [&x-oss-additional-headers=…][&x-oss-security-token=…]&x-oss-signature=<hex>`; every query
 *     parameter but the signature is in the canonical query.
 *
 * Pure: the clock comes in as `now`. Output query strings are RFC 3986 encoded.
 */
import { canonicalizedResource, type ResourceTarget } from './canonical-resource.ts';
import { v1Signature, v1StringToSign, type SignableHeaders } from './signature-v1.ts';
import {
  formatV4Timestamp,
  normalizeAdditionalHeaders,
  rfc3986Encode,
  v4CanonicalRequest,
  v4Credential,
  v4Signature,
  v4StringToSign,
  V4_ALGORITHM,
  type V4Scope,
} from './signature-v4.ts';

export interface PresignCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string | undefined;
}

export interface PresignV1Input extends ResourceTarget {
  method: string;
  credentials: PresignCredentials;
  /** Unix seconds after which the URL is refused. */
  expires: number;
  /** Signed sub-resources such as `callback`, `callback-var`, `response-content-type`. */
  subResources?: Readonly<Record<string, string>>;
  /** Headers the eventual request will carry (content-type, content-md5, x-oss-*), lower-case. */
  headers?: SignableHeaders;
}

/** Returns the query pairs to append, in the order ali-oss writes them. */
export function presignV1(input: PresignV1Input): Array<[string, string]> {
  const sub: Record<string, string> = { ...input.subResources };
  if (input.credentials.securityToken !== undefined) sub['security-token'] = input.credentials.securityToken;
  const expires = String(input.expires);
  const stringToSign = v1StringToSign({
    method: input.method,
    headers: input.headers ?? {},
    date: expires,
    canonicalizedResource: canonicalizedResource(input, Object.entries(sub)),
  });
  return [
    ['OSSAccessKeyId', input.credentials.accessKeyId],
    ['Expires', expires],
    ['Signature', v1Signature(input.credentials.accessKeySecret, stringToSign)],
    ...Object.entries(sub),
  ];
}

export interface PresignV4Input extends ResourceTarget {
  method: string;
  credentials: PresignCredentials;
  /** Region without `oss-`, e.g. `cn-hangzhou`. */
  region: string;
  product?: string;
  now: Date;
  expiresInSeconds: number;
  /** Further query parameters (all are signed in V4). */
  query?: Readonly<Record<string, string>>;
  headers?: SignableHeaders;
  additionalHeaders?: readonly string[];
}

export function presignV4(input: PresignV4Input): Array<[string, string]> {
  const timestamp = formatV4Timestamp(input.now);
  const scope: V4Scope = {
    date: timestamp.slice(0, 8),
    region: input.region,
    product: input.product ?? 'oss',
  };
  const additionalHeaders = normalizeAdditionalHeaders(input.additionalHeaders ?? []);
  const query: Array<[string, string]> = Object.entries(input.query ?? {});
  if (additionalHeaders.length > 0) query.push(['x-oss-additional-headers', additionalHeaders.join(';')]);
  query.push(['x-oss-credential', v4Credential(input.credentials.accessKeyId, scope)]);
  query.push(['x-oss-date', timestamp]);
  query.push(['x-oss-expires', String(input.expiresInSeconds)]);
  query.push(['x-oss-signature-version', V4_ALGORITHM]);
  if (input.credentials.securityToken !== undefined) {
    query.push(['x-oss-security-token', input.credentials.securityToken]);
  }
  const canonicalRequest = v4CanonicalRequest({
    method: input.method,
    target: input,
    query,
    headers: input.headers ?? {},
    additionalHeaders,
  });
  const signature = v4Signature(
    input.credentials.accessKeySecret,
    scope,
    v4StringToSign(timestamp, scope, canonicalRequest),
  );
  return [...query, ['x-oss-signature', signature]];
}

/** Encodes query pairs as `k=v&…` with RFC 3986 escaping (no `+` for space). */
export function encodeQuery(pairs: Iterable<readonly [string, string]>): string {
  return [...pairs].map(([k, v]) => `${rfc3986Encode(k)}=${rfc3986Encode(v)}`).join('&');
}
