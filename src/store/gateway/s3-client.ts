/**
 * A thin S3 client on undici for the few calls the gateway's blob store makes: PutObject (a stream
 * of known length), GetObject (with Range, returning the body stream), CopyObject, DeleteObjects,
 * ListObjectsV2 and HeadBucket, against one bucket of an S3-compatible engine.
 *
 * Why not the AWS SDK: measured against Swift s3api and Ceph RGW (services README), it costs 3–4×
 * the client CPU per small request and needs two settings plus a middleware before Swift accepts its
 * requests; here every header is ours.
 *
 * Owns: one keep-alive connection pool to the engine, signing, retries of replayable calls
 * (s3-retry.ts) and turning answers into values or S3Error / S3UnavailableError (s3-errors.ts).
 * Never: buffers an object body (bodies stream both ways; memory per request is undici's buffers),
 * retries a streamed PUT, or puts a key, secret or signature into an error message.
 *
 * Time: an idempotent call, retries included, ends within `requestTimeoutMs`; each try's headers
 * timeout is what is left of it. A streamed PUT gets `requestTimeoutMs` as an idle limit: undici's
 * headers timer only fires while the engine does not drain the socket, so a slow sender is fine and
 * a hung engine is not. A response body that stops for `requestTimeoutMs` fails (body timeout).
 * undici checks these timers about once a second, so a deadline may pass by up to ~1 s.
 * CopyObject gets `copyTimeoutMs` instead: Swift and RGW copy the whole object before they send a
 * byte of the answer, so its time grows with the object's size.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { childElements, childText, el, parseXml, renderXml, type XmlObject } from '../../shared/xml.ts';
import type { S3Config } from './blob-store.ts';
import {
  S3Error,
  S3UnavailableError,
  parseErrorDocument,
  s3ErrorFromResponse,
  type S3Operation,
} from './s3-errors.ts';
import {
  DEFAULT_RETRY_POLICY,
  backoffDelay,
  isRetryableAnswer,
  unavailableReason,
  type RetryPolicy,
} from './s3-retry.ts';
import { S3_UNSIGNED_PAYLOAD, s3Path, s3QueryString, sha256Hex, signS3Request } from './s3-signer.ts';

export interface S3ClientOptions {
  /** Connections to the engine at most (undici Pool `connections`). Default 32. */
  maxConnections?: number;
  /** See the module header. Default 30 s. */
  requestTimeoutMs?: number;
  /** CopyObject's deadline, retries included (see the module header). Default 10 min. */
  copyTimeoutMs?: number;
  /** Default 5 s. */
  connectTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Keys per ListObjectsV2 page (max-keys), 1–1000. Default 1000. */
  listPageSize?: number;
}

export interface S3ObjectSummary {
  key: string;
  lastModified: Date;
  size: number;
}

export interface S3ListPage {
  objects: S3ObjectSummary[];
  /** Set while more pages follow. */
  nextContinuationToken: string | undefined;
}

/** A key DeleteObjects could not delete, with the engine's code. */
export interface S3DeleteFailure {
  key: string;
  code: string;
}

/** S3 DeleteObjects takes at most 1000 keys per request. */
export const DELETE_OBJECTS_MAX_KEYS = 1000;
/** Error documents are small; a longer body (a proxy's HTML page) is cut here. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** A ListObjectsV2 page: 1000 keys of up to 1024 bytes, escaped, plus the other elements. */
const MAX_LIST_BODY_BYTES = 16 * 1024 * 1024;
const EMPTY_SHA256 = sha256Hex('');

interface S3Request {
  operation: S3Operation;
  method: 'GET' | 'HEAD' | 'PUT' | 'POST';
  /** undefined: the bucket itself. */
  key?: string;
  query?: [string, string][];
  headers?: Record<string, string>;
  body?: Readable | Buffer;
  payloadHash: string;
  /** False for a streamed body, which cannot be sent twice. */
  replayable: boolean;
  signal?: AbortSignal | undefined;
  /** Overrides `requestTimeoutMs` for this call. */
  timeoutMs?: number;
}

export class S3Client {
  readonly #config: S3Config;
  readonly #pool: Pool;
  readonly #host: string;
  readonly #requestTimeoutMs: number;
  readonly #copyTimeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #listPageSize: number;

  constructor(config: S3Config, options: S3ClientOptions = {}) {
    const endpoint = new URL(config.endpoint);
    if (!/^https?:$/.test(endpoint.protocol) || endpoint.pathname !== '/' || endpoint.search !== '') {
      throw new TypeError('S3 endpoint must be http(s)://host[:port] with no path or query');
    }
    // Virtual-hosted style: the bucket is a subdomain of the endpoint (AWS's default; engines that
    // support it need their DNS name configured, e.g. RGW `rgw dns name`, Swift `storage_domain`).
    if (!config.pathStyle && isIP(endpoint.hostname.replace(/^\[|\]$/g, '')) !== 0) {
      throw new TypeError(
        'virtual-hosted style (pathStyle false) needs an endpoint with a DNS name, not an IP address',
      );
    }
    const origin = config.pathStyle
      ? endpoint
      : new URL(`${endpoint.protocol}//${config.bucket}.${endpoint.host}`);
    this.#config = config;
    this.#host = origin.host;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#copyTimeoutMs = options.copyTimeoutMs ?? 600_000;
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#listPageSize = options.listPageSize ?? 1000;
    if (!Number.isInteger(this.#listPageSize) || this.#listPageSize < 1 || this.#listPageSize > 1000) {
      throw new RangeError('listPageSize must be an integer from 1 to 1000');
    }
    this.#pool = new Pool(origin.origin, {
      connections: options.maxConnections ?? 32,
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      headersTimeout: this.#requestTimeoutMs,
      bodyTimeout: this.#requestTimeoutMs,
      // Well below the engines' own idle limits (Swift's client_timeout is 60 s), so a PUT, which
      // cannot be retried, rarely meets a pooled socket the engine has just closed.
      keepAliveTimeout: 4_000,
    });
  }

  /** Streams `size` bytes of `body` as UNSIGNED-PAYLOAD. Resolves to the ETag header, unquoted. */
  async putObject(
    key: string,
    body: Readable,
    size: number,
    signal?: AbortSignal,
  ): Promise<{ etag: string | undefined }> {
    const response = await this.#send({
      operation: 'PutObject',
      method: 'PUT',
      key,
      headers: { 'content-length': String(size), 'content-type': 'application/octet-stream' },
      body,
      payloadHash: S3_UNSIGNED_PAYLOAD,
      replayable: false,
      signal,
    });
    await response.body.dump();
    return { etag: unquoteEtag(headerValue(response.headers, 'etag')) };
  }

  /** The object's bytes, or the inclusive range of them (206 required). Consume or destroy it. */
  async getObject(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const response = await this.#send({
      operation: 'GetObject',
      method: 'GET',
      key,
      headers: range === undefined ? {} : { range: `bytes=${range.start}-${range.end}` },
      payloadHash: EMPTY_SHA256,
      replayable: true,
    });
    if (range !== undefined && response.statusCode !== 206) {
      // An engine (or a proxy) that ignored Range would hand back the wrong bytes.
      response.body.destroy();
      throw new S3Error('GetObject', response.statusCode, 'RangeIgnored', undefined, undefined);
    }
    return response.body;
  }

  /** Server-side copy within the bucket. Resolves to the new object's ETag, unquoted. */
  async copyObject(sourceKey: string, targetKey: string): Promise<{ etag: string | undefined }> {
    const response = await this.#send({
      operation: 'CopyObject',
      method: 'PUT',
      key: targetKey,
      headers: { 'x-amz-copy-source': s3Path(this.#config.bucket, sourceKey) },
      payloadHash: EMPTY_SHA256,
      replayable: true,
      timeoutMs: this.#copyTimeoutMs,
    });
    const text = await readCapped(response.body, MAX_ERROR_BODY_BYTES);
    // S3 may report a failed copy as 200 with an <Error> document (AWS CopyObject reference).
    const embedded = parseErrorDocument(text);
    if (embedded !== undefined) {
      throw new S3Error('CopyObject', 200, embedded.code, embedded.requestId, embedded.message);
    }
    const result = this.#parse('CopyObject', text).CopyObjectResult;
    const etag = typeof result === 'object' && !Array.isArray(result) ? childText(result, 'ETag') : undefined;
    // Ceph RGW sends the result's ETag unquoted; Swift and AWS quote it.
    return { etag: unquoteEtag(etag) };
  }

  /**
   * Deletes up to DELETE_OBJECTS_MAX_KEYS keys in one request (quiet mode) and returns the keys the
   * engine could not delete. Swift s3api refuses the request without Content-MD5.
   */
  async deleteObjects(keys: readonly string[]): Promise<S3DeleteFailure[]> {
    if (keys.length === 0) return [];
    if (keys.length > DELETE_OBJECTS_MAX_KEYS) {
      throw new RangeError(`DeleteObjects takes at most ${DELETE_OBJECTS_MAX_KEYS} keys`);
    }
    const body = Buffer.from(
      renderXml(
        el(
          'Delete',
          el('Quiet', 'true'),
          keys.map((key) => el('Object', el('Key', key))),
        ),
      ),
    );
    const response = await this.#send({
      operation: 'DeleteObjects',
      method: 'POST',
      query: [['delete', '']],
      headers: {
        'content-length': String(body.length),
        'content-type': 'application/xml',
        'content-md5': createHash('md5').update(body).digest('base64'),
      },
      body,
      payloadHash: sha256Hex(body),
      replayable: true,
    });
    const result = this.#parse(
      'DeleteObjects',
      await readCapped(response.body, MAX_LIST_BODY_BYTES),
    ).DeleteResult;
    if (typeof result !== 'object' || Array.isArray(result)) return [];
    return childElements(result, 'Error').flatMap((entry) =>
      typeof entry === 'object'
        ? [{ key: childText(entry, 'Key') ?? '', code: childText(entry, 'Code') ?? 'Unknown' }]
        : [],
    );
  }

  /** One page of ListObjectsV2 (up to `listPageSize` keys), in key order. */
  async listObjectsV2(prefix: string, continuationToken?: string): Promise<S3ListPage> {
    const query: [string, string][] = [
      ['list-type', '2'],
      ['max-keys', String(this.#listPageSize)],
      ['prefix', prefix],
    ];
    if (continuationToken !== undefined) query.push(['continuation-token', continuationToken]);
    const response = await this.#send({
      operation: 'ListObjectsV2',
      method: 'GET',
      query,
      payloadHash: EMPTY_SHA256,
      replayable: true,
    });
    const root = this.#parse(
      'ListObjectsV2',
      await readCapped(response.body, MAX_LIST_BODY_BYTES),
    ).ListBucketResult;
    if (typeof root !== 'object' || Array.isArray(root)) {
      throw new S3Error('ListObjectsV2', response.statusCode, 'MalformedResponse', undefined, undefined);
    }
    const objects = childElements(root, 'Contents').flatMap((entry) => {
      if (typeof entry !== 'object') return [];
      const key = childText(entry, 'Key');
      if (key === undefined) return [];
      return [
        {
          key,
          lastModified: new Date(childText(entry, 'LastModified') ?? 0),
          size: Number(childText(entry, 'Size') ?? 0),
        },
      ];
    });
    const truncated = childText(root, 'IsTruncated') === 'true';
    const next = childText(root, 'NextContinuationToken');
    return {
      objects,
      nextContinuationToken: truncated && next !== undefined && next !== '' ? next : undefined,
    };
  }

  /** Resolves when the bucket exists and the credentials may use it. */
  async headBucket(): Promise<void> {
    const response = await this.#send({
      operation: 'HeadBucket',
      method: 'HEAD',
      payloadHash: EMPTY_SHA256,
      replayable: true,
    });
    await response.body.dump();
  }

  /** Waits for requests in flight, then closes every connection. */
  async close(): Promise<void> {
    await this.#pool.close();
  }

  #path(key: string | undefined): string {
    const { bucket, pathStyle } = this.#config;
    if (key === undefined) return pathStyle ? s3Path(bucket) : '/';
    return pathStyle ? s3Path(bucket, key) : s3Path(key);
  }

  #parse(operation: S3Operation, text: string): XmlObject {
    try {
      return parseXml(text, MAX_LIST_BODY_BYTES);
    } catch {
      throw new S3Error(operation, 200, 'MalformedResponse', undefined, undefined);
    }
  }

  /** Signs and sends, retrying what may be retried; resolves only with a 2xx answer. */
  async #send(request: S3Request): Promise<Dispatcher.ResponseData> {
    const path = this.#path(request.key);
    const query = request.query ?? [];
    const search = query.length === 0 ? '' : `?${s3QueryString(query)}`;
    const timeoutMs = request.timeoutMs ?? this.#requestTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    let bodyError: Error | undefined;
    if (request.body !== undefined && !Buffer.isBuffer(request.body)) {
      request.body.once('error', (error: Error) => (bodyError = error));
    }
    for (let attempt = 1; ; attempt++) {
      const headers = signS3Request(this.#config, {
        method: request.method,
        path,
        query,
        headers: { ...request.headers, host: this.#host },
        payloadHash: request.payloadHash,
        date: new Date(),
      });
      const canRetry = request.replayable && attempt < this.#retry.maxAttempts;
      let response: Dispatcher.ResponseData;
      try {
        response = await this.#pool.request({
          method: request.method,
          path: `${path}${search}`,
          headers,
          body: request.body ?? null,
          signal: request.signal ?? null,
          headersTimeout: request.replayable ? Math.max(1, deadline - Date.now()) : timeoutMs,
        });
      } catch (error) {
        // The caller's own failure passes through as it is: it aborted.
        if (request.signal?.aborted === true) {
          const reason: unknown = request.signal.reason;
          throw reason ?? error;
        }
        // The engine's connection broke. undici then also destroys the body stream with that
        // error (a socket write's ECONNRESET reaches the caller as the body's error), so a body
        // error is the caller's only when it is not a connection failure: an engine cut off
        // mid-PUT is ServiceUnavailable, not a broken stream of the caller's. (The callers here
        // abort through the signal when their side fails: segment-writer.ts.)
        const reason = unavailableReason(error) ?? unavailableReason(bodyError);
        if (reason === undefined) throw bodyError ?? error;
        if (canRetry && (await this.#backoff(attempt, deadline))) continue;
        throw new S3UnavailableError(request.operation, reason, attempt, error);
      }
      if (response.statusCode >= 200 && response.statusCode < 300) return response;
      const text = await readCapped(response.body, MAX_ERROR_BODY_BYTES);
      const failure = s3ErrorFromResponse(
        request.operation,
        response.statusCode,
        text,
        headerValue(response.headers, 'x-amz-request-id'),
      );
      if (!isRetryableAnswer(failure.status, failure.code)) throw failure;
      if (canRetry && (await this.#backoff(attempt, deadline))) continue;
      throw new S3UnavailableError(request.operation, `${failure.status} ${failure.code}`, attempt, failure);
    }
  }

  /** Waits before the next try; false when that wait would pass the deadline. */
  async #backoff(attempt: number, deadline: number): Promise<boolean> {
    const delay = backoffDelay(attempt, this.#retry);
    if (Date.now() + delay >= deadline) return false;
    await sleep(delay);
    return true;
  }
}

/** `"abc"` → `abc`, lower-cased; undefined for a missing or empty ETag. */
export function unquoteEtag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const bare = value
    .trim()
    .replace(/^"(.*)"$/, '$1')
    .toLowerCase();
  return bare === '' ? undefined : bare;
}

function headerValue(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The body as text, reading at most `limit` bytes (the rest is discarded with the connection). */
async function readCapped(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    chunks.push(buffer);
    total += buffer.length;
    if (total >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
