/**
 * OSS signature V4, `OSS4-HMAC-SHA256` (SPEC.md §8.3), used by ali-oss with `authorizationV4: true`,
 * by signatureUrlV4 and by V4 PostObject policies.
 *
 *   CanonicalRequest = VERB \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
 *                      AdditionalHeaders \n (x-oss-content-sha256 or UNSIGNED-PAYLOAD)
 *   StringToSign     = OSS4-HMAC-SHA256 \n <yyyymmddTHHMMSSZ> \n <scope> \n hex(sha256(CanonicalRequest))
 *   scope            = <yyyymmdd>/<region>/<product, "oss">/aliyun_v4_request
 *   SigningKey       = HMAC chain over "aliyun_v4"+secret: date, region, product, "aliyun_v4_request"
 *   Signature        = hex(HMAC-SHA256(SigningKey, StringToSign))
 *
 * Pure. Invariant: byte-for-byte what ali-oss signUtils.getCanonicalRequest / getStringToSign /
 * getSignatureV4 produce (checked against them in signature-v4.test.ts).
 */
import { createHash, createHmac } from 'node:crypto';
import { resourcePath, type QueryPairs, type ResourceTarget } from './canonical-resource.ts';
import { constantTimeEqual } from './constant-time-equal.ts';
import type { SignableHeaders } from './signature-v1.ts';

export const V4_ALGORITHM = 'OSS4-HMAC-SHA256';
export const V4_TERMINATOR = 'aliyun_v4_request';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** RFC 3986 encoding: encodeURIComponent plus `!'()*` (ali-oss encodeString). */
export function rfc3986Encode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `/bucket/key` encoded, with `/` kept. */
export function v4CanonicalUri(target: ResourceTarget): string {
  return rfc3986Encode(resourcePath(target)).replace(/%2F/g, '/');
}

export interface V4QueryOptions {
  /**
   * How an empty value is written. OSS's rule (Go v2, Python v2 signers) is the bare key; ali-oss
   * writes the bare key for sub-resources (`uploads`) but `key=` for an empty ordinary query value.
   */
  emptyValue?: 'bare' | 'equals';
  /** Key order: code-unit order (Go v2, OSS) or `localeCompare` (ali-oss's qs sort). */
  order?: 'code-unit' | 'locale';
}

export function v4CanonicalQuery(query: QueryPairs, options: V4QueryOptions = {}): string {
  const values = new Map<string, string>();
  for (const [name, value] of query) if (!values.has(name)) values.set(name, value);
  const names = [...values.keys()];
  if (options.order === 'locale') names.sort((a, b) => a.localeCompare(b));
  else names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names
    .map((name) => {
      const value = values.get(name) ?? '';
      if (value === '' && options.emptyValue !== 'equals') return rfc3986Encode(name);
      return `${rfc3986Encode(name)}=${rfc3986Encode(value)}`;
    })
    .join('&');
}

/** Signed by default: content-type, content-md5 and every x-oss-* header. */
export function isDefaultSignedHeaderV4(name: string): boolean {
  return name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-');
}

/** Lower-cases, de-duplicates, drops default-signed names and sorts (ali-oss fixAdditionalHeaders). */
export function normalizeAdditionalHeaders(names: readonly string[]): string[] {
  return [...new Set(names.map((n) => n.toLowerCase()))].filter((n) => !isDefaultSignedHeaderV4(n)).sort();
}

export interface V4CanonicalRequestInput {
  method: string;
  target: ResourceTarget;
  /** Every query parameter except `x-oss-signature`. */
  query: QueryPairs;
  headers: SignableHeaders;
  /** Already normalized (normalizeAdditionalHeaders). */
  additionalHeaders: readonly string[];
  queryOptions?: V4QueryOptions;
}

export function v4CanonicalRequest(input: V4CanonicalRequestInput): string {
  const { headers } = input;
  const signed = new Set(input.additionalHeaders);
  for (const name of Object.keys(headers)) {
    if (headers[name] !== undefined && isDefaultSignedHeaderV4(name)) signed.add(name);
  }
  const canonicalHeaders = [...signed]
    .sort()
    .map((name) => `${name}:${(headers[name] ?? '').trim()}\n`)
    .join('');
  return [
    input.method.toUpperCase(),
    v4CanonicalUri(input.target),
    v4CanonicalQuery(input.query, input.queryOptions),
    canonicalHeaders,
    input.additionalHeaders.join(';'),
    headers['x-oss-content-sha256'] ?? UNSIGNED_PAYLOAD,
  ].join('\n');
}

export interface V4Scope {
  /** yyyymmdd */
  date: string;
  /** Without the `oss-` prefix, e.g. `cn-hangzhou`. */
  region: string;
  /** `oss` (or `oss-cloudbox`). */
  product: string;
}

export function v4ScopeString(scope: V4Scope): string {
  return `${scope.date}/${scope.region}/${scope.product}/${V4_TERMINATOR}`;
}

/** `timestamp` is the full `yyyymmddTHHMMSSZ`. */
export function v4StringToSign(timestamp: string, scope: V4Scope, canonicalRequest: string): string {
  const hashed = createHash('sha256').update(canonicalRequest, 'utf8').digest('hex');
  return [V4_ALGORITHM, timestamp, v4ScopeString(scope), hashed].join('\n');
}

export function v4SigningKey(accessKeySecret: string, scope: V4Scope): Buffer {
  const date = createHmac('sha256', `aliyun_v4${accessKeySecret}`).update(scope.date).digest();
  const region = createHmac('sha256', date).update(scope.region).digest();
  const product = createHmac('sha256', region).update(scope.product).digest();
  return createHmac('sha256', product).update(V4_TERMINATOR).digest();
}

export function v4Signature(accessKeySecret: string, scope: V4Scope, stringToSign: string): string {
  return createHmac('sha256', v4SigningKey(accessKeySecret, scope))
    .update(stringToSign, 'utf8')
    .digest('hex');
}

export function verifyV4Signature(
  accessKeySecret: string,
  scope: V4Scope,
  stringToSign: string,
  provided: string,
): boolean {
  return constantTimeEqual(v4Signature(accessKeySecret, scope, stringToSign), provided);
}

export function v4Credential(accessKeyId: string, scope: V4Scope): string {
  return `${accessKeyId}/${v4ScopeString(scope)}`;
}

export function v4Authorization(
  accessKeyId: string,
  scope: V4Scope,
  additionalHeaders: readonly string[],
  signature: string,
): string {
  const additional = additionalHeaders.length > 0 ? `AdditionalHeaders=${additionalHeaders.join(';')},` : '';
  return `${V4_ALGORITHM} Credential=${v4Credential(accessKeyId, scope)},${additional}Signature=${signature}`;
}

export interface ParsedV4Credential {
  accessKeyId: string;
  scope: V4Scope;
}

/** Parses `<AccessKeyId>/<yyyymmdd>/<region>/<product>/aliyun_v4_request`; undefined when malformed. */
export function parseV4Credential(value: string): ParsedV4Credential | undefined {
  const parts = value.split('/');
  if (parts.length !== 5) return undefined;
  const [accessKeyId, date, region, product, terminator] = parts as [string, string, string, string, string];
  if (!/^[\x21-\x7e]+$/.test(accessKeyId)) return undefined;
  if (!/^\d{8}$/.test(date) || region === '' || product === '' || terminator !== V4_TERMINATOR)
    return undefined;
  return { accessKeyId, scope: { date, region, product } };
}

export interface ParsedV4Authorization extends ParsedV4Credential {
  additionalHeaders: string[];
  signature: string;
}

/** Why a V4 Authorization header could not be parsed (the OSS 0002-0000020x family). */
export type V4AuthorizationProblem =
  | 'malformed'
  | 'missing-credential'
  | 'invalid-credential'
  | 'missing-signature'
  | 'empty-additional-headers';

/**
 * Parses `OSS4-HMAC-SHA256 Credential=…,[AdditionalHeaders=a;b,]Signature=<hex>`. Spaces after the
 * commas are tolerated (the docs' own syntax line shows them; ali-oss sends none).
 */
export function parseV4Authorization(value: string): ParsedV4Authorization | V4AuthorizationProblem {
  if (!value.startsWith(`${V4_ALGORITHM} `)) return 'malformed';
  const fields = new Map<string, string>();
  for (const item of value.slice(V4_ALGORITHM.length + 1).split(',')) {
    const pair = item.trim();
    const eq = pair.indexOf('=');
    if (eq <= 0) return 'malformed';
    const name = pair.slice(0, eq);
    if (!['Credential', 'AdditionalHeaders', 'Signature'].includes(name) || fields.has(name))
      return 'malformed';
    fields.set(name, pair.slice(eq + 1));
  }
  const credentialText = fields.get('Credential');
  if (credentialText === undefined || credentialText === '') return 'missing-credential';
  const credential = parseV4Credential(credentialText);
  if (credential === undefined) return 'invalid-credential';
  const signature = fields.get('Signature');
  if (signature === undefined || signature === '') return 'missing-signature';
  const additionalText = fields.get('AdditionalHeaders');
  let additionalHeaders: string[] = [];
  if (additionalText !== undefined) {
    const names = additionalText.split(';');
    if (names.some((n) => n.trim() === '')) return 'empty-additional-headers';
    additionalHeaders = names.map((n) => n.trim().toLowerCase());
  }
  return { ...credential, additionalHeaders, signature };
}

/** `yyyymmddTHHMMSSZ` for a Date (ali-oss dateformat "UTC:yyyymmdd'T'HHMMss'Z'"). */
export function formatV4Timestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Parses `yyyymmddTHHMMSSZ`; undefined when malformed. */
export function parseV4Timestamp(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 59)
    return undefined;
  return date;
}
