/**
 * A thin OSS client for the CLI and for scripts: V1-signed requests over undici (SPEC.md §8.3,
 * the same signer the server verifies with), path-style URLs (`<endpoint>/<bucket>/<key>`).
 *
 * Owns: signing and sending each request; PutObject streamed from a file, GetObject, HeadObject,
 * ListObjects, ListBuckets, PutBucket, DeleteBucket, DeleteObject, DeleteMultipleObjects,
 * ListMultipartUploads and V1 presigned URLs, with upload callbacks attached as
 * `x-oss-callback` headers (or signed `callback` sub-resources when presigning). Invariants: every request is signed over exactly the headers and sub-resources it
 * carries; a non-success reply always becomes an OssServiceError parsed from the OSS error XML.
 * The multipart uploader (part workers, abort, progress) is `multipart-uploader.ts`; reading the
 * replies (upload results, list documents) is `oss-response.ts`; deleting or aborting everything
 * under a prefix is `prefix-operations.ts`. Every request takes an optional AbortSignal, so a
 * caller (the CLI on Ctrl-C) can stop an upload mid-body.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { lookup as lookupMimeType } from 'mime-types';
import { canonicalizedResource } from '../shared/canonical-resource.ts';
import { encodeQuery, presignV1 } from '../shared/presigned-url.ts';
import { v1Authorization, v1StringToSign } from '../shared/signature-v1.ts';
import { el, renderXml } from '../shared/xml.ts';
import type { CallbackLogPage, ListCallbacksOptions, RedeliveryResult } from './callback-log-types.ts';
import { callbackHeaders, type CallbackParams } from './callback-params.ts';
import { uploadFileInParts, type MultipartUploadOptions } from './multipart-uploader.ts';
import { OssServiceError, parseOssServiceError } from './oss-service-error.ts';
import {
  flattenHeaders,
  readBucketList,
  readListMultipartUploadsResult,
  readListObjectsResult,
  readUploadId,
  uploadResult,
  type BucketSummary,
  type ListMultipartUploadsResult,
  type ListObjectsResult,
  type Reply,
  type UploadResult,
} from './oss-response.ts';
import { withProgress, type ProgressListener } from './upload-progress.ts';

export type {
  BucketSummary,
  CallbackOutcome,
  ListMultipartUploadsResult,
  ListObjectsResult,
  ObjectSummary,
  UploadResult,
  UploadSummary,
} from './oss-response.ts';
export {
  DEFAULT_PART_SIZE,
  MIN_PART_SIZE,
  UploadInterruptedError,
  type MultipartUploadOptions,
} from './multipart-uploader.ts';
export type { ProgressListener } from './upload-progress.ts';

export interface OssClientOptions {
  /** Scheme, host and port of the storage server, e.g. `http://127.0.0.1:9000`. */
  endpoint: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** For temporary (STS-style) credentials; sent as `x-oss-security-token`. */
  securityToken?: string | undefined;
  /** A custom undici dispatcher (pool, proxy); default: undici's global agent. */
  dispatcher?: Dispatcher | undefined;
  /** The clock used for `x-oss-date` and presign expiry. */
  now?: (() => Date) | undefined;
}

export interface PutObjectOptions {
  /** Default: guessed from the key's extension, else `application/octet-stream`. */
  contentType?: string | undefined;
  /** Extra headers such as `x-oss-meta-*` (lower-case names). */
  headers?: Readonly<Record<string, string>> | undefined;
  callback?: CallbackParams | undefined;
  onProgress?: ProgressListener | undefined;
  /** Stops the upload: the request is cut off and the promise rejects with an AbortError. */
  signal?: AbortSignal | undefined;
}

export interface ListObjectsOptions {
  prefix?: string | undefined;
  delimiter?: string | undefined;
  marker?: string | undefined;
  maxKeys?: number | undefined;
}

export interface ListMultipartUploadsOptions {
  prefix?: string | undefined;
  keyMarker?: string | undefined;
  uploadIdMarker?: string | undefined;
  maxUploads?: number | undefined;
}

/** HeadObject: the object's facts from its reply headers. */
export interface ObjectInfo {
  contentLength: number;
  contentType: string | undefined;
  etag: string | undefined;
  lastModified: string | undefined;
  /** `x-oss-meta-*` headers, keyed by the name after the prefix. */
  metadata: Record<string, string>;
  /** Every reply header, lower-case. */
  headers: Record<string, string>;
}

/** OSS takes at most 1000 keys per DeleteMultipleObjects request. */
export const MAX_DELETE_KEYS = 1000;

export interface GetObjectResult {
  status: number;
  headers: Record<string, string>;
  contentLength: number | undefined;
  body: Readable;
}

export interface PresignOptions {
  /** Default GET. */
  method?: 'GET' | 'PUT' | 'HEAD' | 'DELETE' | undefined;
  /** Seconds the URL stays valid. Default 3600. */
  expiresInSeconds?: number | undefined;
  /** For a PUT: the Content-Type the uploader will send (it is signed). */
  contentType?: string | undefined;
  /** For a PUT: the callback travels as signed `callback`/`callback-var` query parameters. */
  callback?: CallbackParams | undefined;
}

interface SendInput {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  bucket?: string | undefined;
  key?: string | undefined;
  query?: ReadonlyArray<readonly [string, string]>;
  headers?: Readonly<Record<string, string>>;
  body?: string | Buffer | Readable;
  signal?: AbortSignal | undefined;
}

export class OssClient {
  readonly endpoint: string;
  readonly #options: OssClientOptions;

  constructor(options: OssClientOptions) {
    const url = new URL(options.endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`The endpoint must be an http(s) URL, not ${options.endpoint}`);
    }
    this.endpoint = url.origin;
    this.#options = options;
  }

  /** PutObject from a file (streamed, never buffered) or from bytes in memory. */
  async putObject(
    bucket: string,
    key: string,
    source: string | Uint8Array,
    options: PutObjectOptions = {},
  ): Promise<UploadResult> {
    let body: Buffer | Readable;
    let size: number;
    if (typeof source === 'string') {
      size = (await stat(source)).size;
      body = withProgress(createReadStream(source), size, options.onProgress);
    } else {
      body = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
      size = body.byteLength;
    }
    const reply = await this.#send({
      method: 'PUT',
      bucket,
      key,
      headers: {
        ...options.headers,
        'content-type': options.contentType ?? guessContentType(key),
        'content-length': String(size),
        ...(options.callback ? callbackHeaders(options.callback) : {}),
      },
      body,
      signal: options.signal,
    });
    if (body instanceof Buffer) options.onProgress?.(size, size);
    return uploadResult(reply, options.callback !== undefined);
  }

  /**
   * InitiateMultipartUpload, UploadPart × N in parallel and CompleteMultipartUpload carrying the
   * callback (SPEC.md §7.3); a failed part aborts the upload (multipart-uploader.ts).
   */
  async multipartUpload(
    bucket: string,
    key: string,
    filePath: string,
    options: MultipartUploadOptions = {},
  ): Promise<UploadResult> {
    return uploadFileInParts(this, bucket, key, filePath, {
      ...options,
      contentType: options.contentType ?? guessContentType(key),
    });
  }

  async initiateMultipartUpload(
    bucket: string,
    key: string,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<string> {
    const reply = await this.#send({ method: 'POST', bucket, key, query: [['uploads', '']], headers });
    return readUploadId(reply);
  }

  /** Returns the part's ETag as the server sent it (quoted). */
  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable | Buffer,
    size: number,
    signal?: AbortSignal,
  ): Promise<string> {
    const reply = await this.#send({
      method: 'PUT',
      bucket,
      key,
      query: [
        ['partNumber', String(partNumber)],
        ['uploadId', uploadId],
      ],
      headers: { 'content-length': String(size), 'content-type': 'application/octet-stream' },
      body,
      signal,
    });
    await reply.body.dump();
    const etag = reply.headers['etag'];
    if (etag === undefined) {
      throw new OssServiceError({
        code: 'UnknownError',
        status: reply.status,
        message: 'No ETag on UploadPart',
      });
    }
    return etag;
  }

  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    partEtags: readonly string[],
    callback?: CallbackParams,
  ): Promise<UploadResult> {
    const xml = renderXml(
      el(
        'CompleteMultipartUpload',
        partEtags.map((etag, i) => el('Part', el('PartNumber', i + 1), el('ETag', etag))),
      ),
    );
    const reply = await this.#send({
      method: 'POST',
      bucket,
      key,
      query: [['uploadId', uploadId]],
      headers: {
        'content-type': 'application/xml',
        'content-length': String(Buffer.byteLength(xml)),
        ...(callback ? callbackHeaders(callback) : {}),
      },
      body: xml,
    });
    return uploadResult(reply, callback !== undefined);
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    const reply = await this.#send({ method: 'DELETE', bucket, key, query: [['uploadId', uploadId]] });
    await reply.body.dump();
  }

  /** GetObject; the caller must consume or destroy `body`. */
  async getObject(bucket: string, key: string, options: { range?: string } = {}): Promise<GetObjectResult> {
    const headers: Record<string, string> = {};
    if (options.range !== undefined) headers['range'] = options.range;
    const reply = await this.#send({ method: 'GET', bucket, key, headers });
    const length = reply.headers['content-length'];
    return {
      status: reply.status,
      headers: reply.headers,
      contentLength: length === undefined ? undefined : Number(length),
      body: reply.body,
    };
  }

  /** HeadObject; a missing object is an OssServiceError `NoSuchKey` (read from `x-oss-err`). */
  async headObject(bucket: string, key: string): Promise<ObjectInfo> {
    const reply = await this.#send({ method: 'HEAD', bucket, key });
    await reply.body.dump();
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(reply.headers)) {
      if (name.startsWith('x-oss-meta-')) metadata[name.slice('x-oss-meta-'.length)] = value;
    }
    return {
      contentLength: Number(reply.headers['content-length'] ?? '0'),
      contentType: reply.headers['content-type'],
      etag: reply.headers['etag'],
      lastModified: reply.headers['last-modified'],
      metadata,
      headers: reply.headers,
    };
  }

  /** DeleteObject. OSS answers 204 whether or not the key existed (HeadObject first to know). */
  async deleteObject(bucket: string, key: string): Promise<void> {
    const reply = await this.#send({ method: 'DELETE', bucket, key });
    await reply.body.dump();
  }

  /**
   * DeleteMultipleObjects in quiet mode, at most MAX_DELETE_KEYS keys (the caller batches; see
   * prefix-operations.ts). Missing keys count as deleted, as with DeleteObject.
   */
  async deleteObjects(bucket: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    if (keys.length > MAX_DELETE_KEYS) {
      throw new RangeError(`DeleteMultipleObjects takes at most ${MAX_DELETE_KEYS} keys, got ${keys.length}`);
    }
    const xml = renderXml(
      el(
        'Delete',
        el('Quiet', 'true'),
        keys.map((key) => el('Object', el('Key', key))),
      ),
    );
    const reply = await this.#send({
      method: 'POST',
      bucket,
      query: [['delete', '']],
      headers: {
        'content-type': 'application/xml',
        'content-length': String(Buffer.byteLength(xml)),
        // OSS requires Content-MD5 on DeleteMultipleObjects.
        'content-md5': createHash('md5').update(xml).digest('base64'),
      },
      body: xml,
    });
    await reply.body.dump();
  }

  /** ListMultipartUploads, one page. */
  async listMultipartUploads(
    bucket: string,
    options: ListMultipartUploadsOptions = {},
  ): Promise<ListMultipartUploadsResult> {
    const query: Array<[string, string]> = [['uploads', '']];
    if (options.prefix !== undefined) query.push(['prefix', options.prefix]);
    if (options.keyMarker !== undefined) query.push(['key-marker', options.keyMarker]);
    if (options.uploadIdMarker !== undefined) query.push(['upload-id-marker', options.uploadIdMarker]);
    if (options.maxUploads !== undefined) query.push(['max-uploads', String(options.maxUploads)]);
    const reply = await this.#send({ method: 'GET', bucket, query });
    return readListMultipartUploadsResult(reply);
  }

  /** Every page of ListMultipartUploads, following NextKeyMarker / NextUploadIdMarker. */
  async *listAllMultipartUploads(
    bucket: string,
    options: { prefix?: string | undefined } = {},
  ): AsyncGenerator<ListMultipartUploadsResult> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.listMultipartUploads(bucket, { ...options, keyMarker, uploadIdMarker });
      yield page;
      if (!page.isTruncated || page.nextKeyMarker === undefined) return;
      if (page.nextKeyMarker === keyMarker && page.nextUploadIdMarker === uploadIdMarker) return;
      keyMarker = page.nextKeyMarker;
      uploadIdMarker = page.nextUploadIdMarker;
    }
  }

  /** ListObjects (V1), one page. */
  async listObjects(bucket: string, options: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    const query: Array<[string, string]> = [];
    if (options.prefix !== undefined) query.push(['prefix', options.prefix]);
    if (options.delimiter !== undefined) query.push(['delimiter', options.delimiter]);
    if (options.marker !== undefined) query.push(['marker', options.marker]);
    if (options.maxKeys !== undefined) query.push(['max-keys', String(options.maxKeys)]);
    const reply = await this.#send({ method: 'GET', bucket, query });
    return readListObjectsResult(reply);
  }

  /** Every page of ListObjects, following NextMarker. */
  async *listAllObjects(
    bucket: string,
    options: Omit<ListObjectsOptions, 'marker'> = {},
  ): AsyncGenerator<ListObjectsResult> {
    let marker: string | undefined;
    for (;;) {
      const page = await this.listObjects(bucket, { ...options, marker });
      yield page;
      if (!page.isTruncated) return;
      const last = page.nextMarker ?? page.objects.at(-1)?.key ?? page.commonPrefixes.at(-1);
      if (last === undefined || last === marker) return;
      marker = last;
    }
  }

  async listBuckets(): Promise<BucketSummary[]> {
    const reply = await this.#send({ method: 'GET' });
    return readBucketList(reply);
  }

  async putBucket(bucket: string): Promise<void> {
    const reply = await this.#send({ method: 'PUT', bucket, headers: { 'content-length': '0' } });
    await reply.body.dump();
  }

  /**
   * One page of upcall's callback log, newest first (an upcall extension, not OSS: root
   * credentials only). Signed like any request, over the resource `/_upcall/callbacks`.
   */
  async listCallbacks(options: ListCallbacksOptions = {}): Promise<CallbackLogPage> {
    const query: Array<[string, string]> = [];
    if (options.failed === true) query.push(['failed', '1']);
    if (options.bucket !== undefined) query.push(['bucket', options.bucket]);
    if (options.key !== undefined) query.push(['key', options.key]);
    if (options.since !== undefined) query.push(['since', options.since]);
    if (options.limit !== undefined) query.push(['limit', String(options.limit)]);
    if (options.marker !== undefined) query.push(['marker', options.marker]);
    const reply = await this.#send({ method: 'GET', bucket: '_upcall', key: 'callbacks', query });
    return (await reply.body.json()) as CallbackLogPage;
  }

  /** Sends a logged callback again, or every failed one (upcall's callback log). */
  async redeliverCallbacks(target: { requestId: string } | { failed: true }): Promise<RedeliveryResult[]> {
    const body = JSON.stringify(target);
    const reply = await this.#send({
      method: 'POST',
      bucket: '_upcall',
      key: 'callbacks/redeliver',
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      body,
    });
    return ((await reply.body.json()) as { redelivered: RedeliveryResult[] }).redelivered;
  }

  /** DeleteBucket: `BucketNotEmpty` (409) while objects or multipart uploads remain. */
  async deleteBucket(bucket: string): Promise<void> {
    const reply = await this.#send({ method: 'DELETE', bucket });
    await reply.body.dump();
  }

  /** A V1 presigned URL (SPEC.md §8.3); with a callback, as ali-oss signatureUrl writes it. */
  presignUrl(bucket: string, key: string, options: PresignOptions = {}): string {
    const method = options.method ?? 'GET';
    const now = this.#now();
    const subResources: Record<string, string> = {};
    if (options.callback !== undefined) {
      subResources['callback'] = options.callback.callback;
      if (options.callback.callbackVar !== undefined)
        subResources['callback-var'] = options.callback.callbackVar;
    }
    const headers: Record<string, string> = {};
    if (options.contentType !== undefined) headers['content-type'] = options.contentType;
    const pairs = presignV1({
      method,
      bucket,
      key,
      credentials: {
        accessKeyId: this.#options.accessKeyId,
        accessKeySecret: this.#options.accessKeySecret,
        securityToken: this.#options.securityToken,
      },
      expires: Math.floor(now.getTime() / 1000) + (options.expiresInSeconds ?? 3600),
      subResources,
      headers,
    });
    return `${this.#url(bucket, key)}?${encodeQuery(pairs)}`;
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  #url(bucket: string | undefined, key: string | undefined): string {
    if (bucket === undefined) return `${this.endpoint}/`;
    return `${this.endpoint}/${bucket}/${encodeKey(key ?? '')}`;
  }

  async #send(input: SendInput): Promise<Reply> {
    const query = input.query ?? [];
    const headers: Record<string, string> = { ...input.headers, 'x-oss-date': this.#now().toUTCString() };
    if (this.#options.securityToken !== undefined) {
      headers['x-oss-security-token'] = this.#options.securityToken;
    }
    const stringToSign = v1StringToSign({
      method: input.method,
      headers,
      date: headers['x-oss-date'] ?? '',
      canonicalizedResource: canonicalizedResource({ bucket: input.bucket, key: input.key }, query),
    });
    headers['authorization'] = v1Authorization(
      this.#options.accessKeyId,
      this.#options.accessKeySecret,
      stringToSign,
    );
    const search = query.length > 0 ? `?${encodeQuery(query)}` : '';
    const response = await request(`${this.#url(input.bucket, input.key)}${search}`, {
      method: input.method,
      headers,
      body: input.body ?? null,
      ...(input.signal ? { signal: input.signal } : {}),
      ...(this.#options.dispatcher ? { dispatcher: this.#options.dispatcher } : {}),
    });
    const reply: Reply = {
      status: response.statusCode,
      headers: flattenHeaders(response.headers),
      body: response.body,
    };
    if (reply.status >= 300 || (reply.status === 203 && !isUpload(input))) {
      throw parseOssServiceError(reply.status, await reply.body.text(), reply.headers);
    }
    return reply;
  }
}

function isUpload(input: SendInput): boolean {
  return input.headers?.['x-oss-callback'] !== undefined;
}

/** ali-oss `escapeName`: percent-encode each byte but keep `/` (SPEC.md §8.3). */
export function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/');
}

export function guessContentType(name: string): string {
  const type = lookupMimeType(name);
  return type === false ? 'application/octet-stream' : type;
}
