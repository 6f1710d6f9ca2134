/**
 * Builds the callback requests OSS sends to the app server (SPEC.md §4): one per callbackUrl, in
 * order, each with its request-target, the §4 headers and the rendered body bytes.
 *
 * Pure: the date, request id, key URL and owner are passed in. The `Authorization` header is not
 * set here: the server signs each target off the event loop (server/callback-signer.ts, §1.1).
 * Invariant: `body` is exactly the bytes that `Content-Length` and `Content-MD5` describe, and
 * `target` is exactly the request-target that goes on the wire (and is signed).
 */
import { createHash } from 'node:crypto';
import type { CallbackSpec } from './parse-callback.ts';
import { createCallbackBodyRenderer, renderCallbackBody, type UploadFacts } from './render-callback-body.ts';

export interface CallbackRequestContext {
  /** Goes into the `Date` header (RFC 1123 GMT). */
  date: Date;
  /** The upload's request id, also sent as `x-oss-request-id`. */
  requestId: string;
  /**
   * The public key URL; sent base64-encoded in `x-oss-pub-key-url` (§1.2). Absent for a callback
   * that goes out unsigned (a server option, never OSS's behaviour): the header is left out.
   */
  keyUrl?: string | undefined;
  /** Bucket owner id (`x-oss-owner`). */
  owner: string;
  /** Requester id (`x-oss-requester`); defaults to the owner. */
  requester?: string | undefined;
}

export interface CallbackRequest {
  url: URL;
  /** path + query as sent on the request line; what the signature covers (§1.1). */
  target: string;
  /** Lower-case header names, in the order of the 2019 capture (§11 C). No Authorization. */
  headers: Record<string, string>;
  body: Buffer;
}

/** The callback requests of one upload, each part computed anew (see createCallbackRequestBuilder). */
export function buildCallbackRequests(
  spec: CallbackSpec,
  facts: UploadFacts,
  context: CallbackRequestContext,
): CallbackRequest[] {
  return build(spec, facts, context, undefined);
}

/**
 * buildCallbackRequests for a caller that builds many (the server's dispatcher owns one). Parts
 * repeat from one callback to the next (parsed callback URLs are shared, see parse-callback.ts;
 * one key URL per server; one date per second; one template per app), so this builder computes
 * each once and keeps it. What is kept depends on its input alone, so the requests are
 * buildCallbackRequests's for every input.
 */
export function createCallbackRequestBuilder(): (
  spec: CallbackSpec,
  facts: UploadFacts,
  context: CallbackRequestContext,
) => CallbackRequest[] {
  const memo: Memo = {
    render: createCallbackBodyRenderer(),
    partsOfUrl: new WeakMap(),
    keyUrl: undefined,
    keyUrlHeader: '',
    dateSecond: Number.NaN,
    dateHeader: '',
  };
  return (spec, facts, context) => build(spec, facts, context, memo);
}

interface Memo {
  render: (input: CallbackSpec, facts: UploadFacts) => string;
  partsOfUrl: WeakMap<URL, { target: string; host: string }>;
  keyUrl: string | undefined;
  keyUrlHeader: string;
  dateSecond: number;
  dateHeader: string;
}

function build(
  spec: CallbackSpec,
  facts: UploadFacts,
  context: CallbackRequestContext,
  memo: Memo | undefined,
): CallbackRequest[] {
  const rendered = memo ? memo.render(spec, facts) : renderCallbackBody(spec, facts);
  return withBody(spec, Buffer.from(rendered, 'utf8'), facts.bucket, context, memo);
}

/** Where a callback goes and how its body is labelled: the parts of a CallbackSpec a resend needs. */
export interface CallbackTarget {
  readonly urls: readonly URL[];
  readonly host?: string | undefined;
  readonly bodyType: string;
}

/**
 * The requests for an already rendered body: a redelivery (issue 18) sends the exact bytes of the
 * first delivery to the same URLs, with the context's fresh `Date`.
 */
export function callbackRequestsWithBody(
  target: CallbackTarget,
  body: Buffer,
  bucket: string,
  context: CallbackRequestContext,
): CallbackRequest[] {
  return withBody(target, body, bucket, context, undefined);
}

function withBody(
  target: CallbackTarget,
  body: Buffer,
  bucket: string,
  context: CallbackRequestContext,
  memo: Memo | undefined,
): CallbackRequest[] {
  const contentMd5 = createHash('md5').update(body).digest('base64');
  const keyUrl = context.keyUrl === undefined ? undefined : keyUrlHeader(context.keyUrl, memo);
  const date = httpDate(context.date, memo);
  return target.urls.map((url) => {
    const { target: requestTarget, host } = urlParts(url, memo);
    const headers: Record<string, string> = {
      // FIDELITY: without callbackHost the Host header keeps a non-default port (`host:8080`), as
      // HTTP requires; an old doc example omits it (SPEC §4 [U]).
      host: target.host ?? host,
      'content-length': String(body.length),
      'content-md5': contentMd5,
      'content-type': target.bodyType,
      date,
      'user-agent': 'aliyun-oss-callback',
      'x-oss-additional-headers': '',
      'x-oss-bucket': bucket,
      'x-oss-owner': context.owner,
    };
    if (keyUrl !== undefined) headers['x-oss-pub-key-url'] = keyUrl;
    headers['x-oss-request-id'] = context.requestId;
    headers['x-oss-requester'] = context.requester ?? context.owner;
    headers['x-oss-signature-version'] = '1.0';
    headers['x-oss-tag'] = 'CALLBACK';
    return { url, target: requestTarget, headers, body };
  });
}

function urlParts(url: URL, memo: Memo | undefined): { target: string; host: string } {
  let parts = memo?.partsOfUrl.get(url);
  if (parts === undefined) {
    // A URL without a path is `POST / HTTP/1.1` (§4, S5); WHATWG URL gives `/` already.
    parts = { target: `${url.pathname}${url.search}`, host: url.host };
    memo?.partsOfUrl.set(url, parts);
  }
  return parts;
}

function keyUrlHeader(keyUrl: string, memo: Memo | undefined): string {
  if (memo === undefined) return Buffer.from(keyUrl, 'utf8').toString('base64');
  if (keyUrl !== memo.keyUrl) {
    memo.keyUrlHeader = Buffer.from(keyUrl, 'utf8').toString('base64');
    memo.keyUrl = keyUrl;
  }
  return memo.keyUrlHeader;
}

/** RFC 1123 GMT, the same for every date within one second. */
function httpDate(date: Date, memo: Memo | undefined): string {
  if (memo === undefined) return date.toUTCString();
  const second = Math.floor(date.getTime() / 1000);
  if (second !== memo.dateSecond) {
    memo.dateHeader = date.toUTCString();
    memo.dateSecond = second;
  }
  return memo.dateHeader;
}
