/**
 * The receiver's core: raw request parts in, a verified callback out (SPEC.md §1, §4).
 *
 * Framework-free: adapters only collect `{ method, target, headers, body }` and call this.
 * Invariant: the signature is checked over the exact bytes received (raw request-target and raw
 * body, via `callback/callback-signature.ts`), never over parsed or re-serialised data, and the
 * key comes only from the injected resolver (allowlist + cache), never straight from the header.
 */
import type { KeyObject } from 'node:crypto';
import { verifyCallbackSignature } from './callback-signature.ts';
import { parseCallbackBody, type CallbackBodyFacts } from './callback-body.ts';
import { CallbackVerificationError } from './callback-verification-error.ts';
import {
  createPublicKeyResolver,
  decodeKeyUrlHeader,
  type PublicKeyResolver,
} from './public-key-resolver.ts';

export type CallbackHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface CallbackRequest {
  method: string;
  /** The raw request-target (path + query) exactly as on the wire, e.g. `req.url` in node:http. */
  target: string;
  headers: CallbackHeaders;
  body: Uint8Array;
}

/** The OSS headers of a callback request (SPEC.md §4). */
export interface OssCallbackHeaders {
  bucket?: string;
  requestId?: string;
  owner?: string;
  requester?: string;
  date?: string;
  tag?: string;
  signatureVersion?: string;
  contentMd5?: string;
  contentType?: string;
}

export interface VerifiedCallback extends CallbackBodyFacts {
  /** Always true: a failed check throws. Kept so stored records say how they were accepted. */
  verified: true;
  target: string;
  /** The decoded `x-oss-pub-key-url`, when sent. */
  keyUrl?: string;
  oss: OssCallbackHeaders;
  /** The exact body bytes that were verified. */
  rawBody: Uint8Array;
}

export interface VerifyOssCallbackOptions {
  /** Where keys come from. Default: a shared resolver for the official key host only. */
  resolver?: PublicKeyResolver;
  /** Largest accepted body. Default 1 MiB (OSS renders callback bodies far smaller). */
  maxBodyBytes?: number;
}

export const DEFAULT_MAX_CALLBACK_BODY_BYTES = 1024 * 1024;

let defaultResolver: PublicKeyResolver | undefined;

function sharedDefaultResolver(): PublicKeyResolver {
  defaultResolver ??= createPublicKeyResolver();
  return defaultResolver;
}

/** @throws CallbackVerificationError with a `reason` saying which check failed. */
export async function verifyOssCallback(
  request: CallbackRequest,
  options: VerifyOssCallbackOptions = {},
): Promise<VerifiedCallback> {
  if (request.method.toUpperCase() !== 'POST') {
    throw new CallbackVerificationError(
      'method-not-allowed',
      `OSS callbacks are POST requests, not ${request.method}.`,
    );
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_CALLBACK_BODY_BYTES;
  if (request.body.byteLength > maxBodyBytes) {
    throw new CallbackVerificationError('body-too-large', `The callback body exceeds ${maxBodyBytes} bytes.`);
  }
  const header = headerReader(request.headers);
  const authorization = header('authorization');
  if (authorization === undefined || authorization.trim() === '') {
    throw new CallbackVerificationError(
      'missing-signature',
      'The Authorization header is missing (a proxy in front of the app may strip it).',
    );
  }
  const resolver = options.resolver ?? sharedDefaultResolver();
  const keyUrlHeader = header('x-oss-pub-key-url');
  const keyUrl = resolver.keyUrlOf ? resolver.keyUrlOf(keyUrlHeader) : decodeKeyUrlHeader(keyUrlHeader);
  // Hot path: a cached key needs no promise hop (DESIGN.md: verification should cost one RSA verify).
  const key: KeyObject = resolver.peek(keyUrl) ?? (await resolver.resolve(keyUrl));
  if (!verifyCallbackSignature(request.target, request.body, authorization, key)) {
    throw new CallbackVerificationError(
      'signature-mismatch',
      'The callback signature does not match the request path, query and body.',
    );
  }
  const oss: OssCallbackHeaders = {};
  for (const [name, wire] of OSS_HEADERS) {
    const value = header(wire);
    if (value !== undefined) oss[name] = value;
  }
  const facts = parseCallbackBody(oss.contentType, request.body);
  // Extends the parsed facts in place: a spread into a new literal costs more than the RSA check.
  const verified: VerifiedCallback = Object.assign(facts, {
    verified: true as const,
    target: request.target,
    oss,
    rawBody: request.body,
  });
  // The body's bucket wins when the template has one; otherwise the signed-for request's header.
  if (verified.bucket === undefined && oss.bucket !== undefined) verified.bucket = oss.bucket;
  if (keyUrl !== undefined) verified.keyUrl = keyUrl;
  return verified;
}

const OSS_HEADERS: readonly (readonly [keyof OssCallbackHeaders, string])[] = [
  ['bucket', 'x-oss-bucket'],
  ['requestId', 'x-oss-request-id'],
  ['owner', 'x-oss-owner'],
  ['requester', 'x-oss-requester'],
  ['date', 'date'],
  ['tag', 'x-oss-tag'],
  ['signatureVersion', 'x-oss-signature-version'],
  ['contentMd5', 'content-md5'],
  ['contentType', 'content-type'],
];

/** Case-insensitive header lookup over node's header record or a web `Headers`. */
export function headerReader(headers: CallbackHeaders): (name: string) => string | undefined {
  if (typeof (headers as Headers).get === 'function' && headers instanceof Headers) {
    return (name) => headers.get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  // node:http lower-cases every name, so a miss is normally just an absent header. Only a
  // hand-built record with mixed-case names needs the slower lower-cased copy, built once.
  let lower: Map<string, string | readonly string[] | undefined> | null | undefined;
  return (name) => {
    let value = record[name];
    if (value === undefined) {
      // Not `??=`: null (no mixed-case names) is an answer too, and must not rescan every miss.
      if (lower === undefined) lower = lowerCasedCopy(record);
      value = lower?.get(name);
    }
    if (value === undefined) return undefined;
    return typeof value === 'string' ? value : value.join(', ');
  };
}

/** A lower-cased copy of a record with mixed-case names, or null when every name is lower case. */
function lowerCasedCopy(
  record: Readonly<Record<string, string | readonly string[] | undefined>>,
): Map<string, string | readonly string[] | undefined> | null {
  for (const name in record) {
    if (name !== name.toLowerCase()) {
      return new Map(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v]));
    }
  }
  return null;
}
