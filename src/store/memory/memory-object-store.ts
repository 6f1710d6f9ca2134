/**
 * The reference ObjectStore + MultipartStore: everything in process memory, data as Buffer
 * segments. For tests and tiny setups; the contract suite (test/contract/) runs against it and the
 * fs backend alike.
 *
 * Invariant: every mutation is one synchronous step after all awaits (body received, beforeCommit
 * passed), so a concurrent reader sees the old object or the new one, never a mix. Objects are
 * immutable once committed: a write replaces the entry, it never edits segments in place.
 */
import { Readable } from 'node:stream';
import { crc64Combine } from '../../shared/crc64.ts';
import { multipartEtag } from '../../shared/etag.ts';
import { ossError } from '../../shared/oss-error.ts';
import {
  chunkSink,
  receiveBody,
  reportingTo,
  type ReceivedBody,
  type ReceiveBodyOptions,
} from '../hashing/hashing-writer.ts';
import { Crc64Pool } from '../hashing/crc64-pool.ts';
import type { CallbackLog } from '../callback-log.ts';
import { createMemoryCallbackLog } from './memory-callback-log.ts';
import { compareKeys } from '../key-order.ts';
import { checkOverwrite } from '../overwrite-rules.ts';
import { appendedObject, checkAppendable } from '../append-rules.ts';
import {
  compareUploads,
  isAfterUploadMarker,
  newUploadId,
  resolveCompletedParts,
} from '../multipart-rules.ts';
import type {
  BucketAcl,
  BucketCors,
  BucketInfo,
  ByteRange,
  CompletedPart,
  CopySource,
  ListPage,
  ListQuery,
  MultipartListQuery,
  MultipartStore,
  ObjectAcl,
  ObjectMeta,
  ObjectSettings,
  ObjectStore,
  ObjectTag,
  ObjectStream,
  OverwriteOptions,
  PartOptions,
  PartRecord,
  PutOptions,
  StoredObject,
  UploadInfo,
  UploadRef,
  ObjectRestore,
  StorageClass,
} from '../object-store.ts';

interface MemObject {
  object: StoredObject;
  segments: readonly Buffer[];
}

interface MemPart {
  record: PartRecord;
  data: Buffer;
}

interface MemUpload {
  info: UploadInfo;
  meta: ObjectMeta;
  settings: ObjectSettings;
  parts: Map<number, MemPart>;
}

interface MemBucket {
  info: BucketInfo;
  cors?: BucketCors | undefined;
  objects: Map<string, MemObject>;
  uploads: Map<string, MemUpload>;
}

function cloneMeta(meta: ObjectMeta): ObjectMeta {
  return { ...meta, userMeta: { ...meta.userMeta } };
}

function cloneTags(tags: readonly ObjectTag[]): ObjectTag[] {
  return tags.map((tag) => ({ ...tag }));
}

function cloneObject(object: StoredObject): StoredObject {
  return {
    ...object,
    lastModified: new Date(object.lastModified),
    meta: cloneMeta(object.meta),
    tags: cloneTags(object.tags),
  };
}

/** The bytes [start, end] of a segmented body, as a list of views (no copy). */
function sliceSegments(segments: readonly Buffer[], range: ByteRange): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  for (const segment of segments) {
    const segStart = offset;
    const segEnd = offset + segment.length - 1;
    offset += segment.length;
    if (segEnd < range.start || segment.length === 0) continue;
    if (segStart > range.end) break;
    out.push(
      segment.subarray(
        Math.max(range.start, segStart) - segStart,
        Math.min(range.end, segEnd) - segStart + 1,
      ),
    );
  }
  return out;
}

async function receive(
  body: Readable,
  maxSize: number | undefined,
  options: ReceiveBodyOptions,
): Promise<{ received: ReceivedBody; data: Buffer }> {
  const { sink, chunks } = chunkSink();
  const received = await receiveBody(body, sink, maxSize, options);
  return { received, data: Buffer.concat(chunks) };
}

export interface MemoryObjectStoreOptions {
  /**
   * The worker threads that continue the CRC-64 of large bodies. Default: a pool of the store's
   * own, ended by `close()`; a pool passed here stays the caller's (not closed with the store).
   */
  crc64Pool?: Crc64Pool | undefined;
}

class MemoryObjectStore implements ObjectStore, MultipartStore {
  readonly #buckets = new Map<string, MemBucket>();
  readonly #crc64Pool: Crc64Pool;
  readonly #ownsCrc64Pool: boolean;
  /** Bounded by the server's retention (callback-log.ts), like the SQLite one. */
  readonly callbackLog: CallbackLog = createMemoryCallbackLog();

  constructor(options: MemoryObjectStoreOptions) {
    this.#ownsCrc64Pool = options.crc64Pool === undefined;
    this.#crc64Pool = options.crc64Pool ?? new Crc64Pool();
  }

  #receive(
    body: Readable,
    maxSize: number | undefined,
    options: ReceiveBodyOptions = {},
  ): Promise<{ received: ReceivedBody; data: Buffer }> {
    return receive(body, maxSize, { ...options, crc64Pool: this.#crc64Pool });
  }

  get multipart(): MultipartStore {
    return this;
  }

  #bucket(name: string): MemBucket {
    const bucket = this.#buckets.get(name);
    if (!bucket) throw ossError('NoSuchBucket', { details: { BucketName: name } });
    return bucket;
  }

  #object(bucket: string, key: string): MemObject {
    const object = this.#bucket(bucket).objects.get(key);
    if (!object) throw ossError('NoSuchKey', { details: { Key: key } });
    return object;
  }

  #upload(ref: UploadRef): MemUpload {
    const upload = this.#buckets.get(ref.bucket)?.uploads.get(ref.uploadId);
    if (!upload || upload.info.key !== ref.key)
      throw ossError('NoSuchUpload', { details: { UploadId: ref.uploadId } });
    return upload;
  }

  async createBucket(
    name: string,
    acl: BucketAcl,
    storageClass: StorageClass = 'Standard',
  ): Promise<BucketInfo> {
    if (this.#buckets.has(name)) throw ossError('BucketAlreadyExists', { details: { BucketName: name } });
    const info: BucketInfo = { name, creationDate: new Date(), acl, storageClass };
    this.#buckets.set(name, { info, objects: new Map(), uploads: new Map() });
    return { ...info };
  }

  async getBucket(name: string): Promise<BucketInfo> {
    return { ...this.#bucket(name).info };
  }

  async setBucketAcl(name: string, acl: BucketAcl): Promise<void> {
    this.#bucket(name).info.acl = acl;
  }

  async setBucketCors(name: string, cors: BucketCors | undefined): Promise<void> {
    this.#bucket(name).cors = cors === undefined ? undefined : structuredClone(cors);
  }

  async getBucketCors(name: string): Promise<BucketCors | undefined> {
    const { cors } = this.#bucket(name);
    return cors === undefined ? undefined : structuredClone(cors);
  }

  async listBuckets(): Promise<BucketInfo[]> {
    return [...this.#buckets.values()]
      .map((b) => ({ ...b.info }))
      .sort((a, b) => compareKeys(a.name, b.name));
  }

  async deleteBucket(name: string): Promise<void> {
    const bucket = this.#bucket(name);
    if (bucket.objects.size > 0 || bucket.uploads.size > 0)
      throw ossError('BucketNotEmpty', { details: { BucketName: name } });
    this.#buckets.delete(name);
  }

  async putObject(bucket: string, key: string, body: Readable, options: PutOptions): Promise<StoredObject> {
    const target = this.#bucket(bucket);
    // Refused before the body is read when the key is taken already; the check below decides.
    checkOverwrite(options, target.objects.has(key), key);
    const { received, data } = await this.#receive(body, options.maxSize, reportingTo(options.onReceived));
    const object: StoredObject = {
      bucket,
      key,
      size: received.size,
      etag: received.etag,
      contentMd5: received.contentMd5,
      crc64: received.crc64,
      lastModified: new Date(),
      type: 'Normal',
      meta: cloneMeta(options.meta),
      acl: options.settings?.acl ?? 'default',
      tags: cloneTags(options.settings?.tags ?? []),
      storageClass: options.settings?.storageClass ?? target.info.storageClass,
    };
    await options.beforeCommit?.(cloneObject(object));
    // The bucket may have been deleted while the body streamed in.
    if (this.#buckets.get(bucket) !== target)
      throw ossError('NoSuchBucket', { details: { BucketName: bucket } });
    // The commit: from here to the set nothing yields, so no other write can come between.
    checkOverwrite(options, target.objects.has(key), key);
    target.objects.set(key, { object, segments: [data] });
    return cloneObject(object);
  }

  async headObject(bucket: string, key: string): Promise<StoredObject> {
    return cloneObject(this.#object(bucket, key).object);
  }

  async getObject(bucket: string, key: string, range?: ByteRange): Promise<ObjectStream> {
    const { object, segments } = this.#object(bucket, key);
    const slices = sliceSegments(segments, range ?? { start: 0, end: object.size - 1 });
    return { object: cloneObject(object), body: Readable.from(slices) };
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    this.#bucket(bucket).objects.delete(key);
  }

  async copyObject(
    source: CopySource,
    bucket: string,
    key: string,
    meta?: ObjectMeta,
    settings: ObjectSettings = {},
    options?: OverwriteOptions,
  ): Promise<StoredObject> {
    const from = this.#object(source.bucket, source.key);
    const target = this.#bucket(bucket);
    // Synchronous up to the set below: this check is the commit's.
    checkOverwrite(options, target.objects.has(key), key);
    const ontoItself = source.bucket === bucket && source.key === key;
    // FIDELITY: the copy keeps the source's type, ETag and CRC-64.
    const { restore, ...copied } = from.object;
    const storageClass =
      settings.storageClass ?? (ontoItself ? from.object.storageClass : target.info.storageClass);
    const object: StoredObject = {
      ...copied,
      bucket,
      key,
      lastModified: new Date(),
      meta: cloneMeta(meta ?? from.object.meta),
      acl: settings.acl ?? (ontoItself ? from.object.acl : 'default'),
      tags: cloneTags(settings.tags ?? from.object.tags),
      storageClass,
      ...(restore !== undefined && ontoItself && storageClass === from.object.storageClass
        ? { restore }
        : {}),
    };
    // Segments are immutable, so the copy shares them.
    target.objects.set(key, { object, segments: from.segments });
    return cloneObject(object);
  }

  async setObjectAcl(bucket: string, key: string, acl: ObjectAcl): Promise<void> {
    const entry = this.#object(bucket, key);
    // Committed objects are immutable (readers may hold them): replace the entry, same data.
    this.#bucket(bucket).objects.set(key, { ...entry, object: { ...entry.object, acl } });
  }

  async setObjectRestore(bucket: string, key: string, restore: ObjectRestore): Promise<void> {
    const entry = this.#object(bucket, key);
    const object = { ...entry.object, restore: { ...restore } };
    this.#bucket(bucket).objects.set(key, { ...entry, object });
  }

  async setObjectTags(bucket: string, key: string, tags: readonly ObjectTag[]): Promise<void> {
    const entry = this.#object(bucket, key);
    this.#bucket(bucket).objects.set(key, { ...entry, object: { ...entry.object, tags: cloneTags(tags) } });
  }

  async appendObject(
    bucket: string,
    key: string,
    position: number,
    body: Readable,
    options: PutOptions,
  ): Promise<StoredObject> {
    const target = this.#bucket(bucket);
    checkAppendable(target.objects.get(key)?.object, position);
    const { received, data } = await this.#receive(body, options.maxSize);
    const pending = appendedObject(bucket, key, target.objects.get(key)?.object, received, options.meta, {
      storageClass: target.info.storageClass,
      ...options.settings,
    });
    await options.beforeCommit?.(cloneObject(pending));
    if (this.#buckets.get(bucket) !== target)
      throw ossError('NoSuchBucket', { details: { BucketName: bucket } });
    // Re-check: another append may have committed while this body streamed in.
    const current = target.objects.get(key);
    checkAppendable(current?.object, position);
    target.objects.set(key, { object: pending, segments: [...(current?.segments ?? []), data] });
    return cloneObject(pending);
  }

  async listObjects(bucket: string, query: ListQuery): Promise<ListPage> {
    const prefix = query.prefix ?? '';
    const after = query.after;
    const objects = this.#bucket(bucket).objects;
    const keys = [...objects.keys()]
      .filter((k) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0))
      .sort(compareKeys);
    return {
      objects: keys.slice(0, query.maxKeys).map((k) => cloneObject(objects.get(k)!.object)),
      isTruncated: keys.length > query.maxKeys,
    };
  }

  async close(): Promise<void> {
    this.#buckets.clear();
    if (this.#ownsCrc64Pool) await this.#crc64Pool.close();
  }

  // MultipartStore

  async initiate(
    bucket: string,
    key: string,
    meta: ObjectMeta,
    settings: ObjectSettings = {},
  ): Promise<UploadInfo> {
    const target = this.#bucket(bucket);
    const now = Date.now();
    const info: UploadInfo = {
      bucket,
      key,
      uploadId: newUploadId(now),
      initiated: new Date(now),
      storageClass: settings.storageClass ?? target.info.storageClass,
    };
    const kept: ObjectSettings = { acl: settings.acl ?? 'default', tags: cloneTags(settings.tags ?? []) };
    target.uploads.set(info.uploadId, { info, meta: cloneMeta(meta), settings: kept, parts: new Map() });
    return { ...info };
  }

  async uploadPart(
    ref: UploadRef,
    partNumber: number,
    body: Readable,
    options: PartOptions = {},
  ): Promise<PartRecord> {
    this.#upload(ref);
    const { received, data } = await this.#receive(body, options.maxSize);
    const record: PartRecord = {
      partNumber,
      etag: received.etag,
      size: received.size,
      crc64: received.crc64,
      lastModified: new Date(),
    };
    await options.beforeCommit?.({ ...record });
    // The upload may have been completed or aborted while the part streamed in.
    const upload = this.#upload(ref);
    upload.parts.set(partNumber, { record, data });
    return { ...record };
  }

  async listParts(
    ref: UploadRef,
    after: number,
    maxParts: number,
  ): Promise<{ parts: PartRecord[]; isTruncated: boolean; storageClass: StorageClass }> {
    const numbers = [...this.#upload(ref).parts.keys()].filter((n) => n > after).sort((a, b) => a - b);
    const upload = this.#upload(ref);
    return {
      parts: numbers.slice(0, maxParts).map((n) => ({ ...upload.parts.get(n)!.record })),
      isTruncated: numbers.length > maxParts,
      storageClass: upload.info.storageClass,
    };
  }

  async complete(ref: UploadRef, listed: CompletedPart[], options?: OverwriteOptions): Promise<StoredObject> {
    const upload = this.#upload(ref);
    const target = this.#bucket(ref.bucket);
    const parts = resolveCompletedParts(ref.uploadId, listed, (n) => upload.parts.get(n)?.record);
    let crc = '0';
    let size = 0;
    for (const part of parts) {
      crc = crc64Combine(crc, part.crc64, part.size);
      size += part.size;
    }
    const object: StoredObject = {
      bucket: ref.bucket,
      key: ref.key,
      size,
      etag: multipartEtag(parts.map((p) => p.etag)),
      crc64: crc,
      lastModified: new Date(),
      type: 'Multipart',
      meta: upload.meta,
      acl: upload.settings.acl ?? 'default',
      tags: upload.settings.tags ?? [],
      storageClass: upload.info.storageClass,
    };
    checkOverwrite(options, target.objects.has(ref.key), ref.key);
    target.objects.set(ref.key, { object, segments: parts.map((p) => upload.parts.get(p.partNumber)!.data) });
    target.uploads.delete(ref.uploadId);
    return cloneObject(object);
  }

  async abort(ref: UploadRef): Promise<void> {
    this.#upload(ref);
    this.#bucket(ref.bucket).uploads.delete(ref.uploadId);
  }

  async listUploads(
    bucket: string,
    query: MultipartListQuery,
  ): Promise<{ uploads: UploadInfo[]; isTruncated: boolean }> {
    const prefix = query.prefix ?? '';
    const { keyMarker, uploadIdMarker } = query;
    const uploads = [...this.#bucket(bucket).uploads.values()]
      .map((u) => u.info)
      .filter((u) => u.key.startsWith(prefix) && isAfterUploadMarker(u, keyMarker, uploadIdMarker))
      .sort(compareUploads);
    return {
      uploads: uploads.slice(0, query.maxUploads).map((u) => ({ ...u })),
      isTruncated: uploads.length > query.maxUploads,
    };
  }
}

/** A new, empty in-memory store. */
export function createMemoryObjectStore(options: MemoryObjectStoreOptions = {}): ObjectStore {
  return new MemoryObjectStore(options);
}
