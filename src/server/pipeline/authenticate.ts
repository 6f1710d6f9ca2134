/**
 * Who sent this request: checks the OSS signature of one request and names its principal
 * (SPEC.md §8.3). Detects, in this order: V4 header (`Authorization: OSS4-HMAC-SHA256 …`), V1
 * header (`Authorization: OSS ak:sig`), V4 presigned URL (`x-oss-signature-version`/`x-oss-credential`
 * query), V1 presigned URL (`OSSAccessKeyId`/`Signature` query), else anonymous. Anonymous access
 * decisions (public-read buckets) are the HTTP layer's (access-control.ts), not this module's.
 *
 * Invariants: a returned root/temporary principal always had a valid signature made with the
 * secret of that access key id (temporary secrets are re-derived from the security token); every
 * failure is an OssError with OSS's code and details; signatures are compared in constant time.
 *
 * Usage (the one call site, access-control.ts):
 *   const principal = authenticate(
 *     { method: req.method, rawPath, query: new URLSearchParams(rawQuery), headers: req.headers, bucket, key },
 *     { credentials: (id) => (id === rootId ? rootSecret : undefined), now: () => new Date(), maxSkewMs: 15 * 60_000 },
 *   );
 *   // then, for a temporary principal: authorizeAction(principal, { action: 'PutObject', bucket, key, callbackUrls })
 */
import type { IncomingHttpHeaders } from 'node:http';
import { canonicalizedResource } from '../../shared/canonical-resource.ts';
import { ossError, type OssError } from '../../shared/oss-error.ts';
import {
  checkTemporaryPolicy,
  isTemporaryPolicy,
  verifySecurityToken,
  type ActionRequest,
} from '../../shared/security-token.ts';
import { parseV1Authorization, v1DateLine, v1Signature, v1StringToSign } from '../../shared/signature-v1.ts';
import {
  normalizeAdditionalHeaders,
  parseV4Authorization,
  parseV4Credential,
  parseV4Timestamp,
  v4CanonicalRequest,
  v4Signature,
  v4StringToSign,
  V4_ALGORITHM,
  type V4QueryOptions,
  type V4Scope,
} from '../../shared/signature-v4.ts';
import { constantTimeEqual } from '../../shared/constant-time-equal.ts';
import type { Principal } from './principal.ts';

export interface AuthenticateRequest {
  method: string;
  rawPath: string;
  /** The query as sent (URLSearchParams over the raw query string). */
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Resolved by the HTTP layer (virtual-host or path style); undefined for service requests. */
  bucket?: string | undefined;
  key?: string | undefined;
}

export interface AuthenticateDeps {
  /** The secret of a root access key id, or undefined when it is unknown. */
  credentials: (accessKeyId: string) => string | undefined;
  now: () => Date;
  /** OSS allows 15 minutes (900000 ms). */
  maxSkewMs: number;
}

/** OSS rejects signed requests whose time is more than 15 minutes off (RequestTimeTooSkewed). */
export const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;

type Headers = Record<string, string>;

/**
 * Node hands header values over as latin1 text; ali-oss signs the UTF-8 text of the same bytes.
 * Values that are valid UTF-8 are decoded so a non-ASCII x-oss-meta-* header verifies.
 */
function decodeHeaderValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  const decoded = Buffer.from(value, 'latin1').toString('utf8');
  return decoded.includes('\ufffd') ? value : decoded;
}

function signableHeaders(headers: IncomingHttpHeaders): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = decodeHeaderValue(Array.isArray(value) ? value.join(',') : value);
  }
  return out;
}

/** OSS shows the string to sign as space-separated upper-case hex bytes. */
function hexBytes(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
}

function invalidAuthorization(detail?: string): OssError {
  // FIDELITY: OSS answers a malformed Authorization header with 400 InvalidArgument; its exact
  // wording per V4 sub-case (the 0002-0000020x EC family) is not public, so one message with a detail.
  return ossError('InvalidArgument', {
    message:
      detail === undefined
        ? 'Authorization header is invalid.'
        : `Authorization header is invalid: ${detail}`,
    details: { ArgumentName: 'Authorization' },
  });
}

interface Resolved {
  secret: string;
  principal: Principal;
}

/** The secret to check the signature with, and who the request acts as. */
function resolveCredentials(
  accessKeyId: string,
  securityToken: string | undefined,
  deps: AuthenticateDeps,
  now: Date,
): Resolved {
  if (securityToken !== undefined && securityToken !== '') {
    const verified = verifySecurityToken(securityToken, accessKeyId, deps.credentials, now);
    return {
      secret: verified.accessKeySecret,
      principal: { kind: 'temporary', accessKeyId, policy: verified.policy },
    };
  }
  const secret = accessKeyId.startsWith('STS.') ? undefined : deps.credentials(accessKeyId);
  if (secret === undefined)
    throw ossError('InvalidAccessKeyId', { details: { OSSAccessKeyId: accessKeyId } });
  return { secret, principal: { kind: 'root', accessKeyId } };
}

function checkSkew(requestTime: string, at: Date, now: Date, maxSkewMs: number): void {
  if (Math.abs(now.getTime() - at.getTime()) <= maxSkewMs) return;
  throw ossError('RequestTimeTooSkewed', {
    details: {
      RequestTime: requestTime,
      ServerTime: now.toISOString(),
      MaxAllowedSkewMilliseconds: String(maxSkewMs),
    },
  });
}

function requestExpired(expires: string, now: Date): OssError {
  return ossError('AccessDenied', {
    message: 'Request has expired.',
    details: { Expires: expires, ServerTime: now.toISOString() },
  });
}

function v1Mismatch(stringToSign: string, provided: string, accessKeyId: string): OssError {
  return ossError('SignatureDoesNotMatch', {
    details: {
      StringToSign: stringToSign,
      StringToSignBytes: hexBytes(stringToSign),
      SignatureProvided: provided,
      OSSAccessKeyId: accessKeyId,
    },
  });
}

function authenticateV1Header(
  request: AuthenticateRequest,
  authorization: string,
  deps: AuthenticateDeps,
): Principal {
  const parsed = parseV1Authorization(authorization);
  if (parsed === undefined) throw invalidAuthorization();
  const headers = signableHeaders(request.headers);
  const now = deps.now();
  const resolved = resolveCredentials(parsed.accessKeyId, headers['x-oss-security-token'], deps, now);
  const dateLine = v1DateLine(headers);
  // FIDELITY: OSS's wording for a missing or unparseable date is not public; AccessDenied like S3.
  if (dateLine === undefined) throw ossError('AccessDenied', { message: 'Missing Date Header.' });
  const at = new Date(dateLine);
  if (Number.isNaN(at.getTime())) throw ossError('AccessDenied', { message: 'Invalid Date Header.' });
  checkSkew(dateLine, at, now, deps.maxSkewMs);
  const stringToSign = v1StringToSign({
    method: request.method,
    headers,
    date: dateLine,
    canonicalizedResource: canonicalizedResource(request, request.query),
  });
  if (!constantTimeEqual(v1Signature(resolved.secret, stringToSign), parsed.signature)) {
    throw v1Mismatch(stringToSign, parsed.signature, parsed.accessKeyId);
  }
  return resolved.principal;
}

function authenticateV1Presigned(request: AuthenticateRequest, deps: AuthenticateDeps): Principal {
  const { query } = request;
  const accessKeyId = query.get('OSSAccessKeyId');
  const expires = query.get('Expires');
  const signature = query.get('Signature');
  if (accessKeyId === null || accessKeyId === '' || expires === null || signature === null) {
    // FIDELITY: S3's wording; OSS's is not public.
    throw ossError('AccessDenied', {
      message: 'Query-string authentication requires the Signature, Expires and OSSAccessKeyId parameters.',
    });
  }
  const now = deps.now();
  const resolved = resolveCredentials(accessKeyId, query.get('security-token') ?? undefined, deps, now);
  if (!/^\d{1,12}$/.test(expires)) {
    throw ossError('InvalidArgument', {
      message: 'Expires is not a valid number.',
      details: { ArgumentName: 'Expires', ArgumentValue: expires },
    });
  }
  if (now.getTime() > Number(expires) * 1000) throw requestExpired(expires, now);
  const stringToSign = v1StringToSign({
    method: request.method,
    headers: signableHeaders(request.headers),
    date: expires,
    canonicalizedResource: canonicalizedResource(request, query),
  });
  if (!constantTimeEqual(v1Signature(resolved.secret, stringToSign), signature)) {
    throw v1Mismatch(stringToSign, signature, accessKeyId);
  }
  return resolved.principal;
}

/**
 * ali-oss writes a value-less sub-resource as the bare key but an empty ordinary query value as
 * `key=`, and sorts with localeCompare; the wire cannot tell the cases apart, so every spelling a
 * client could have signed is tried. The first is OSS's own canonical form, reported on mismatch.
 */
const V4_QUERY_VARIANTS: readonly V4QueryOptions[] = [
  { emptyValue: 'bare', order: 'code-unit' },
  { emptyValue: 'equals', order: 'code-unit' },
  { emptyValue: 'bare', order: 'locale' },
  { emptyValue: 'equals', order: 'locale' },
];

interface V4Check {
  request: AuthenticateRequest;
  headers: Headers;
  query: Array<[string, string]>;
  accessKeyId: string;
  scope: V4Scope;
  timestamp: string;
  additionalHeaders: string[];
  signature: string;
  secret: string;
}

function verifyV4(check: V4Check): void {
  const absent = check.additionalHeaders.find((name) => check.headers[name] === undefined);
  if (absent !== undefined) {
    // FIDELITY: OSS refuses additional headers the request lacks (EC 0002-00000077/78); code not public.
    throw ossError('InvalidArgument', {
      message: `The additional header ${absent} is not in the request.`,
      details: { ArgumentName: 'AdditionalHeaders', ArgumentValue: check.additionalHeaders.join(';') },
    });
  }
  let first: { canonicalRequest: string; stringToSign: string } | undefined;
  for (const queryOptions of V4_QUERY_VARIANTS) {
    const canonicalRequest = v4CanonicalRequest({
      method: check.request.method,
      target: check.request,
      query: check.query,
      headers: check.headers,
      additionalHeaders: check.additionalHeaders,
      queryOptions,
    });
    const stringToSign = v4StringToSign(check.timestamp, check.scope, canonicalRequest);
    if (constantTimeEqual(v4Signature(check.secret, check.scope, stringToSign), check.signature)) return;
    first ??= { canonicalRequest, stringToSign };
  }
  throw ossError('SignatureDoesNotMatch', {
    details: {
      CanonicalRequest: first?.canonicalRequest ?? '',
      StringToSign: first?.stringToSign ?? '',
      StringToSignBytes: hexBytes(first?.stringToSign ?? ''),
      SignatureProvided: check.signature,
      OSSAccessKeyId: check.accessKeyId,
    },
  });
}

/** The scope's date must be the timestamp's date. */
function checkScopeDate(scope: V4Scope, timestamp: string): void {
  // FIDELITY: wording after OSS's V4 doc ("signing date"); code AccessDenied as for other V4 scope faults.
  if (!timestamp.startsWith(scope.date)) {
    throw ossError('AccessDenied', { message: 'Invalid signing date in Authorization header.' });
  }
}

function authenticateV4Header(
  request: AuthenticateRequest,
  authorization: string,
  deps: AuthenticateDeps,
): Principal {
  const parsed = parseV4Authorization(authorization);
  if (typeof parsed === 'string') throw invalidAuthorization(parsed);
  const headers = signableHeaders(request.headers);
  const now = deps.now();
  const resolved = resolveCredentials(parsed.accessKeyId, headers['x-oss-security-token'], deps, now);
  const timestamp = headers['x-oss-date'];
  const at = timestamp === undefined ? undefined : parseV4Timestamp(timestamp);
  if (timestamp === undefined || at === undefined) {
    // FIDELITY: V4 requires x-oss-date in ISO 8601 basic format; OSS's wording is not public.
    throw ossError('AccessDenied', { message: 'Missing or invalid x-oss-date header.' });
  }
  checkScopeDate(parsed.scope, timestamp);
  checkSkew(timestamp, at, now, deps.maxSkewMs);
  verifyV4({
    request,
    headers,
    query: [...request.query],
    accessKeyId: parsed.accessKeyId,
    scope: parsed.scope,
    timestamp,
    additionalHeaders: normalizeAdditionalHeaders(parsed.additionalHeaders),
    signature: parsed.signature,
    secret: resolved.secret,
  });
  return resolved.principal;
}

/** OSS caps a V4 presigned URL at 7 days. */
const MAX_V4_EXPIRES_SECONDS = 7 * 24 * 3600;

function authenticateV4Presigned(request: AuthenticateRequest, deps: AuthenticateDeps): Principal {
  const { query } = request;
  const version = query.get('x-oss-signature-version');
  const credentialText = query.get('x-oss-credential');
  const timestamp = query.get('x-oss-date');
  const expires = query.get('x-oss-expires');
  const signature = query.get('x-oss-signature');
  const missing = (name: string) =>
    // FIDELITY: OSS's code for an incomplete V4 presigned URL is not public; InvalidArgument names it.
    ossError('InvalidArgument', {
      message: `The presigned URL is missing or has an invalid ${name}.`,
      details: { ArgumentName: name, ArgumentValue: query.get(name) ?? '' },
    });
  if (version !== V4_ALGORITHM) throw missing('x-oss-signature-version');
  if (credentialText === null) throw missing('x-oss-credential');
  const credential = parseV4Credential(credentialText);
  if (credential === undefined) throw missing('x-oss-credential');
  if (signature === null || signature === '') throw missing('x-oss-signature');
  const now = deps.now();
  const resolved = resolveCredentials(
    credential.accessKeyId,
    query.get('x-oss-security-token') ?? undefined,
    deps,
    now,
  );
  const at = timestamp === null ? undefined : parseV4Timestamp(timestamp);
  if (timestamp === null || at === undefined) throw missing('x-oss-date');
  if (
    expires === null ||
    !/^\d{1,7}$/.test(expires) ||
    Number(expires) < 1 ||
    Number(expires) > MAX_V4_EXPIRES_SECONDS
  ) {
    throw missing('x-oss-expires');
  }
  checkScopeDate(credential.scope, timestamp);
  // FIDELITY: a URL dated in the future beyond the allowed skew is refused as skewed.
  if (at.getTime() - now.getTime() > deps.maxSkewMs) checkSkew(timestamp, at, now, deps.maxSkewMs);
  if (now.getTime() > at.getTime() + Number(expires) * 1000) {
    throw requestExpired(new Date(at.getTime() + Number(expires) * 1000).toISOString(), now);
  }
  const additional = query.get('x-oss-additional-headers');
  verifyV4({
    request,
    headers: signableHeaders(request.headers),
    query: [...query].filter(([name]) => name !== 'x-oss-signature'),
    accessKeyId: credential.accessKeyId,
    scope: credential.scope,
    timestamp,
    additionalHeaders:
      additional === null || additional === '' ? [] : normalizeAdditionalHeaders(additional.split(';')),
    signature,
    secret: resolved.secret,
  });
  return resolved.principal;
}

/**
 * Authenticates one request.
 * @throws OssError InvalidAccessKeyId | SignatureDoesNotMatch | RequestTimeTooSkewed | AccessDenied |
 *   InvalidArgument | InvalidSecurityToken | SecurityTokenExpired
 */
export function authenticate(request: AuthenticateRequest, deps: AuthenticateDeps): Principal {
  const header = request.headers.authorization;
  const authorization = Array.isArray(header) ? header.join(',') : header;
  if (authorization !== undefined && authorization !== '') {
    if (hasPresignedParameters(request.query)) {
      // OSS refuses a signature in both the URL and the Authorization header.
      // FIDELITY: the code and wording are not public; InvalidArgument names the conflict.
      throw ossError('InvalidArgument', {
        message: 'Only one authentication mechanism allowed: a signed URL or an Authorization header.',
        details: { ArgumentName: 'Authorization' },
      });
    }
    if (authorization.startsWith(`${V4_ALGORITHM} `) || authorization === V4_ALGORITHM) {
      return authenticateV4Header(request, authorization, deps);
    }
    if (authorization.startsWith('OSS ')) return authenticateV1Header(request, authorization, deps);
    throw invalidAuthorization();
  }
  const { query } = request;
  if (query.has('x-oss-signature-version') || query.has('x-oss-credential') || query.has('x-oss-signature')) {
    return authenticateV4Presigned(request, deps);
  }
  if (query.has('OSSAccessKeyId') || query.has('Signature')) return authenticateV1Presigned(request, deps);
  return { kind: 'anonymous' };
}

function hasPresignedParameters(query: URLSearchParams): boolean {
  return ['OSSAccessKeyId', 'Signature', 'x-oss-signature', 'x-oss-credential'].some((name) =>
    query.has(name),
  );
}

/**
 * Enforces a temporary principal's token policy on one operation; root and anonymous principals
 * pass (anonymous access is decided by bucket ACL in access-control.ts).
 * @throws OssError AccessDenied
 */
export function authorizeAction(principal: Principal, request: ActionRequest): void {
  if (principal.kind !== 'temporary') return;
  if (!isTemporaryPolicy(principal.policy)) {
    throw ossError('AccessDenied', { message: 'Access denied by the security token policy.' });
  }
  checkTemporaryPolicy(principal.policy, request);
}
