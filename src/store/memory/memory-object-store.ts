/**
 * The reference ObjectStore + MultipartStore: everything in process memory, data as Buffer
 * segments. For tests and tiny setups; the contract suite (test/contract/) runs against it and the
 * fs backend alike.
 *
 * Invariant: every mutation is one synchronous step after all awaits (body received, beforeCommit
 * passed), so a concurrent reader sees the old object or the new one, never a mix. Objects are
 * immutable once committed: a write replaces the entry, it never edits segments in place.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc64Combine } from '../../shared/crc64.ts';
import { multipartEtag } from '../../shared/etag.ts';
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
import { copyTarget } from '../copy-rules.ts';
import {
  bucketAlreadyExists,
  bucketNotEmpty,
  noSuchBucket,
  noSuchKey,
  noSuchUpload,
  positionNotEqualToLength,
} from '../store-errors.ts';
import {
  BLOB_HEADER_BYTES,
  checkMasterKey,
  decryptBlobBuffer,
  encryptingSink,
  newObjectEncryption,
  unwrapDataKey,
  type ObjectEncryption,
} from '../encryption/object-cipher.ts';
import {
  compareUploads,
  isAfterUploadMarker,
  newUploadId,
  resolveCompletedParts,
} from '../multipart-rules.ts';
import type {
  BucketAcl,
  BucketInfo,
  BucketSettingName,
  BucketSettings,
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
  /** Each an encrypted blob (IV + ciphertext) when `encryption` is set, else the plaintext. */
  segments: readonly Buffer[];
  encryption?: ObjectEncryption | undefined;
}

interface MemPart {
  record: PartRecord;
  /** Encrypted under the upload's data key when it has one. */
  data: Buffer;
}

interface MemUpload {
  info: UploadInfo;
  meta: ObjectMeta;
  settings: ObjectSettings;
  parts: Map<number, MemPart>;
  encryption?: ObjectEncryption | undefined;
}

interface MemBucket {
  info: BucketInfo;
  /** PutBucketCors, PutBucketLifecycle, …: absent until put. */
  settings: Partial<BucketSettings>;
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

/**
 * The plaintext bytes [start, end] of a segmented body: views of the segments (no copy), or with a
 * data key, each segment's part decrypted from its own offset (encrypted segments carry an IV).
 */
function sliceSegments(segments: readonly Buffer[], range: ByteRange, dataKey?: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const header = dataKey === undefined ? 0 : BLOB_HEADER_BYTES;
  let offset = 0;
  for (const segment of segments) {
    const size = segment.length - header;
    const segStart = offset;
    const segEnd = offset + size - 1;
    offset += size;
    if (segEnd < range.start || size === 0) continue;
    if (segStart > range.end) break;
    const start = Math.max(range.start, segStart) - segStart;
    const end = Math.min(range.end, segEnd) - segStart;
    out.push(
      dataKey === undefined
        ? segment.subarray(start, end + 1)
        : decryptBlobBuffer(dataKey, segment, start, end),
    );
  }
  return out;
}

async function receive(
  body: Readable,
  maxSize: number | undefined,
  options: ReceiveBodyOptions,
  dataKey: Buffer | undefined,
): Promise<{ received: ReceivedBody; data: Buffer }> {
  const { sink, chunks } = chunkSink();
  // Hashed as plaintext first, encrypted on the way into memory.
  const into = dataKey === undefined ? sink : encryptingSink(sink, dataKey);
  const received = await receiveBody(body, into, maxSize, options);
  return { received, data: Buffer.concat(chunks) };
}

export interface MemoryObjectStoreOptions {
  /**
   * The worker threads that continue the CRC-64 of large bodies. Default: a pool of the store's
   * own, ended by `close()`; a pool passed here stays the caller's (not closed with the store).
   */
  crc64Pool?: Crc64Pool | undefined;
  /** The server-side encryption master key (32 bytes). Default: a random one, as the data lives no longer. */
  masterKey?: Buffer | undefined;
}

class MemoryObjectStore implements ObjectStore, MultipartStore {
  readonly #buckets = new Map<string, MemBucket>();
  readonly #crc64Pool: Crc64Pool;
  readonly #ownsCrc64Pool: boolean;
  readonly #masterKey: Buffer;
  /** Bounded by the server's retention (callback-log.ts), like the SQLite one. */
  readonly callbackLog: CallbackLog = createMemoryCallbackLog();

  constructor(options: MemoryObjectStoreOptions) {
    this.#ownsCrc64Pool = options.crc64Pool === undefined;
    this.#crc64Pool = options.crc64Pool ?? new Crc64Pool();
    this.#masterKey = checkMasterKey(options.masterKey ?? randomBytes(32));
  }

  #receive(
    body: Readable,
    maxSize: number | undefined,
    options: ReceiveBodyOptions = {},
    encryption?: ObjectEncryption,
  ): Promise<{ received: ReceivedBody; data: Buffer }> {
    return receive(body, maxSize, { ...options, crc64Pool: this.#crc64Pool }, this.#dataKey(encryption));
  }

  #dataKey(encryption: ObjectEncryption | undefined): Buffer | undefined {
    return encryption === undefined ? undefined : unwrapDataKey(this.#masterKey, encryption);
  }

  /** A fresh data key record when `settings` ask for encryption. */
  #newEncryption(settings: ObjectSettings | undefined): ObjectEncryption | undefined {
    return settings?.serverSideEncryption === undefined
      ? undefined
      : newObjectEncryption(this.#masterKey).record;
  }

  get multipart(): MultipartStore {
    return this;
  }

  #bucket(name: string): MemBucket {
    const bucket = this.#buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    return bucket;
  }

  #object(bucket: string, key: string): MemObject {
    const object = this.#bucket(bucket).objects.get(key);
    if (!object) throw noSuchKey(key);
    return object;
  }

  #upload(ref: UploadRef): MemUpload {
    const upload = this.#buckets.get(ref.bucket)?.uploads.get(ref.uploadId);
    if (!upload || upload.info.key !== ref.key) throw noSuchUpload(ref.uploadId);
    return upload;
  }

  async createBucket(
    name: string,
    acl: BucketAcl,
    storageClass: StorageClass = 'Standard',
  ): Promise<BucketInfo> {
    if (this.#buckets.has(name)) throw bucketAlreadyExists(name);
    const info: BucketInfo = { name, creationDate: new Date(), acl, storageClass };
    this.#buckets.set(name, { info, settings: {}, objects: new Map(), uploads: new Map() });
    return { ...info };
  }

  async getBucket(name: string): Promise<BucketInfo> {
    return { ...this.#bucket(name).info };
  }

  async setBucketAcl(name: string, acl: BucketAcl): Promise<void> {
    this.#bucket(name).info.acl = acl;
  }

  async putBucketSetting<N extends BucketSettingName>(
    bucket: string,
    name: N,
    value: BucketSettings[N] | undefined,
  ): Promise<void> {
    const { settings } = this.#bucket(bucket);
    if (value === undefined) delete settings[name];
    else settings[name] = structuredClone(value);
  }

  async getBucketSetting<N extends BucketSettingName>(
    bucket: string,
    name: N,
  ): Promise<BucketSettings[N] | undefined> {
    const value = this.#bucket(bucket).settings[name];
    return value === undefined ? undefined : structuredClone(value);
  }

  async listBuckets(): Promise<BucketInfo[]> {
    return [...this.#buckets.values()]
      .map((b) => ({ ...b.info }))
      .sort((a, b) => compareKeys(a.name, b.name));
  }

  async deleteBucket(name: string): Promise<void> {
    const bucket = this.#bucket(name);
    if (bucket.objects.size > 0 || bucket.uploads.size > 0) throw bucketNotEmpty(name);
    this.#buckets.delete(name);
  }

  async putObject(bucket: string, key: string, body: Readable, options: PutOptions): Promise<StoredObject> {
    const target = this.#bucket(bucket);
    // Refused before the body is read when the key is taken already; the check below decides.
    checkOverwrite(options, target.objects.has(key), key);
    const encryption = this.#newEncryption(options.settings);
    const { received, data } = await this.#receive(
      body,
      options.maxSize,
      reportingTo(options.onReceived),
      encryption,
    );
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
      ...(encryption === undefined ? {} : { serverSideEncryption: encryption.algorithm }),
    };
    await options.beforeCommit?.(cloneObject(object));
    // The bucket may have been deleted while the body streamed in.
    if (this.#buckets.get(bucket) !== target) throw noSuchBucket(bucket);
    // The commit: from here to the set nothing yields, so no other write can come between.
    checkOverwrite(options, target.objects.has(key), key);
    target.objects.set(key, { object, segments: [data], encryption });
    return cloneObject(object);
  }

  async headObject(bucket: string, key: string): Promise<StoredObject> {
    return cloneObject(this.#object(bucket, key).object);
  }

  async getObject(bucket: string, key: string, range?: ByteRange): Promise<ObjectStream> {
    const { object, segments, encryption } = this.#object(bucket, key);
    const slices = sliceSegments(
      segments,
      range ?? { start: 0, end: object.size - 1 },
      this.#dataKey(encryption),
    );
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
    const { restore, serverSideEncryption: _sourceEncryption, ...copied } = from.object;
    const { acl, storageClass, keepsRestore } = copyTarget({
      source: from.object,
      ontoItself,
      bucketClass: target.info.storageClass,
      settings,
    });
    const object: StoredObject = {
      ...copied,
      bucket,
      key,
      lastModified: new Date(),
      meta: cloneMeta(meta ?? from.object.meta),
      acl,
      tags: cloneTags(settings.tags ?? from.object.tags),
      storageClass,
      ...(restore !== undefined && keepsRestore ? { restore } : {}),
      ...(settings.serverSideEncryption === undefined
        ? {}
        : { serverSideEncryption: settings.serverSideEncryption }),
    };
    if ((from.encryption !== undefined) === (settings.serverSideEncryption !== undefined)) {
      // Segments are immutable, so the copy shares them (and their data key).
      target.objects.set(key, { object, segments: from.segments, encryption: from.encryption });
    } else {
      // Encrypted on one side only: the copy's data is re-encoded.
      const plain = Buffer.concat(
        sliceSegments(from.segments, { start: 0, end: from.object.size - 1 }, this.#dataKey(from.encryption)),
      );
      const encryption = this.#newEncryption(settings);
      const { data } = await this.#receive(Readable.from([plain]), undefined, {}, encryption);
      target.objects.set(key, { object, segments: [data], encryption });
    }
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
    const before = target.objects.get(key);
    checkAppendable(before?.object, position);
    // The object's data key, or (the append that creates it) a new one when asked for.
    const encryption = before ? before.encryption : this.#newEncryption(options.settings);
    const { received, data } = await this.#receive(body, options.maxSize, {}, encryption);
    const pending = appendedObject(bucket, key, target.objects.get(key)?.object, received, options.meta, {
      storageClass: target.info.storageClass,
      ...options.settings,
    });
    if (encryption === undefined) delete pending.serverSideEncryption;
    else pending.serverSideEncryption = encryption.algorithm;
    await options.beforeCommit?.(cloneObject(pending));
    if (this.#buckets.get(bucket) !== target) throw noSuchBucket(bucket);
    // Re-check: another append may have committed while this body streamed in.
    const current = target.objects.get(key);
    checkAppendable(current?.object, position);
    // Replaced meanwhile by an object of the same size but another data key: this body cannot join it.
    if (current && current.encryption !== encryption)
      throw positionNotEqualToLength(current?.object.size ?? 0);
    target.objects.set(key, { object: pending, segments: [...(current?.segments ?? []), data], encryption });
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
    target.uploads.set(info.uploadId, {
      info,
      meta: cloneMeta(meta),
      settings: kept,
      parts: new Map(),
      encryption: this.#newEncryption(settings),
    });
    return { ...info };
  }

  async uploadPart(
    ref: UploadRef,
    partNumber: number,
    body: Readable,
    options: PartOptions = {},
  ): Promise<PartRecord> {
    const { encryption } = this.#upload(ref);
    const { received, data } = await this.#receive(body, options.maxSize, {}, encryption);
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
      ...(upload.encryption === undefined ? {} : { serverSideEncryption: upload.encryption.algorithm }),
    };
    checkOverwrite(options, target.objects.has(ref.key), ref.key);
    target.objects.set(ref.key, {
      object,
      segments: parts.map((p) => upload.parts.get(p.partNumber)!.data),
      encryption: upload.encryption,
    });
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
