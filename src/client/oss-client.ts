/**
 * A thin OSS client for the CLI and for scripts: V1-signed requests over undici (SPEC.md §8.3,
 * the same signer the server verifies with), path-style URLs (`<endpoint>/<bucket>/<key>`).
 *
 * Owns: signing and sending each request; PutObject streamed from a file, GetObject, ListObjects,
 * ListBuckets, PutBucket, DeleteObject and V1 presigned URLs, with upload callbacks attached as
 * `x-oss-callback` headers (or signed `callback` sub-resources when presigning). Invariants: every request is signed over exactly the headers and sub-resources it
 * carries; a non-success reply always becomes an OssServiceError parsed from the OSS error XML.
 * The multipart uploader (part workers, abort, progress) is `multipart-uploader.ts`; reading the
 * replies (upload results, list documents) is `oss-response.ts`.
 */
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
  readListObjectsResult,
  readUploadId,
  uploadResult,
  type BucketSummary,
  type ListObjectsResult,
  type Reply,
  type UploadResult,
} from './oss-response.ts';
import { withProgress, type ProgressListener } from './upload-progress.ts';

export type {
  BucketSummary,
  CallbackOutcome,
  ListObjectsResult,
  ObjectSummary,
  UploadResult,
} from './oss-response.ts';
export { DEFAULT_PART_SIZE, MIN_PART_SIZE, type MultipartUploadOptions } from './multipart-uploader.ts';
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
}

export interface ListObjectsOptions {
  prefix?: string | undefined;
  delimiter?: string | undefined;
  marker?: string | undefined;
  maxKeys?: number | undefined;
}

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

  async deleteObject(bucket: string, key: string): Promise<void> {
    const reply = await this.#send({ method: 'DELETE', bucket, key });
    await reply.body.dump();
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
