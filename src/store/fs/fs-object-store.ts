/**
 * The embedded default backend (DESIGN.md "Embedded default storage"): bodies as blob files
 * (blob-dir.ts), metadata rows in SQLite (meta-db.ts). The row commit is the commit point.
 *
 * An object row names its body as an ordered list of segments (blob id + size):
 * - PutObject: one blob.
 * - CompleteMultipartUpload: the parts' blobs, handed over to the object as they are (no data is
 *   copied, so completing 1 GiB is instant and memory-flat); the CRC comes from crc64Combine.
 * - AppendObject: the previous segments plus one blob per append (nothing is rewritten in place,
 *   so a failed append cannot damage the object).
 * - CopyObject: hard links of the source's blobs under new ids. Every blob is owned by exactly one
 *   row, so deleting or overwriting either side never touches the other's data; no reference
 *   counts to keep consistent.
 *
 * Every mutation: stream the new blob in place and make it durable first (async), then one synchronous
 * SQLite transaction that re-checks its preconditions and swaps the rows, then hand dropped blobs
 * to BlobDir.drop (unlinked once the commit is durable and no reader holds them).
 */
import { join } from 'node:path';
import { mkdir, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { crc64Combine } from '../../shared/crc64.ts';
import { multipartEtag } from '../../shared/etag.ts';
import { appendedObject, checkAppendable } from '../append-rules.ts';
import { Crc64Pool } from '../hashing/crc64-pool.ts';
import {
  receiveBody,
  reportingTo,
  type ReceivedBody,
  type ReceiveBodyOptions,
} from '../hashing/hashing-writer.ts';
import { newUploadId, resolveCompletedParts } from '../multipart-rules.ts';
import { checkOverwrite } from '../overwrite-rules.ts';
import { copyTarget } from '../copy-rules.ts';
import { prefixEnd, utf8 } from '../key-order.ts';
import {
  bucketAlreadyExists,
  bucketNotEmpty,
  noSuchBucket,
  noSuchKey,
  noSuchUpload,
  positionNotEqualToLength,
} from '../store-errors.ts';
import {
  objectColumns,
  objectFromColumns,
  toBucketInfo,
  toPartRecord,
  toUploadInfo,
} from '../metadata-rows.ts';
import type { CallbackLog } from '../callback-log.ts';
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
  ObjectRestore,
  ObjectMeta,
  ObjectSettings,
  ObjectStore,
  ObjectTag,
  ObjectStream,
  OverwriteOptions,
  PartOptions,
  PartRecord,
  PutOptions,
  StorageClass,
  StoredObject,
  UploadInfo,
  UploadRef,
} from '../object-store.ts';
import type { HealthCheckedStore, StoreHealthCheck } from '../store-health.ts';
import { BlobDir, type Segment } from './blob-dir.ts';
import { loadOrCreateMasterKey } from '../encryption/master-key.ts';
import {
  checkMasterKey,
  encryptingSink,
  newObjectEncryption,
  unwrapDataKey,
  type ObjectEncryption,
} from '../encryption/object-cipher.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { DEFAULT_MIN_FREE_BYTES, FreeSpace } from './free-space.ts';
import { RESERVE_FILE_BYTES, ReserveFile } from './reserve-file.ts';
import { checkFsStoreHealth, type FsStoreFiles } from './fs-store-health.ts';
import { openSqliteCallbackLog } from './sqlite-callback-log.ts';
import {
  MetaDb,
  formatSegments,
  formatTags,
  parseSegments,
  parseTags,
  type ObjectRow,
  type PartRow,
  type UploadRow,
} from './meta-db.ts';

export interface FsObjectStoreOptions {
  /** Holds meta.sqlite, blobs/ and tmp/; created if missing. One process per data dir. */
  dataDir: string;
  /**
   * Default true. False skips the fsync of each new blob before its row commits: much faster writes on
   * a real disk, for tests and throwaway data. A process crash still loses nothing acknowledged
   * (the page cache survives it); an OS crash or power loss can leave recent objects empty or torn.
   */
  fsync?: boolean | undefined;
  /**
   * The worker threads that continue the CRC-64 of large bodies. Default: a pool of the store's
   * own, ended by `close()`; a pool passed here stays the caller's (not closed with the store).
   */
  crc64Pool?: Crc64Pool | undefined;
  /**
   * The free-space reserve, in bytes (default DEFAULT_MIN_FREE_BYTES, 512 MiB; 0 turns it off).
   * Writes that add data stop with InsufficientStorage once the file system holding `dataDir` has
   * less than this free, so deletes, aborts and metadata commits always have room (free-space.ts).
   */
  minFreeBytes?: number | undefined;
  /**
   * The server-side encryption master key (32 bytes). Default: `<dataDir>/master.key`, generated
   * on the first encrypted write (encryption/master-key.ts).
   */
  masterKey?: Buffer | undefined;
}

function toStoredObject(row: ObjectRow): StoredObject {
  return objectFromColumns(row, {
    meta: JSON.parse(row.meta) as ObjectMeta,
    tags: parseTags(row.tags),
    serverSideEncryption: parseEncryption(row.encryption)?.algorithm,
  });
}

function parseEncryption(json: string | null): ObjectEncryption | undefined {
  return json === null ? undefined : (JSON.parse(json) as ObjectEncryption);
}

function formatEncryption(encryption: ObjectEncryption | undefined): string | null {
  return encryption === undefined ? null : JSON.stringify(encryption);
}

function toObjectRow(
  object: StoredObject,
  segments: readonly Segment[],
  encryption: ObjectEncryption | undefined,
): ObjectRow {
  return {
    ...objectColumns(object),
    meta: JSON.stringify(object.meta),
    segments: formatSegments(segments),
    tags: formatTags(object.tags),
    encryption: formatEncryption(encryption),
  };
}

function segmentIds(segments: string | undefined): string[] {
  return segments === undefined ? [] : parseSegments(segments).map((s) => s.id);
}

/**
 * A CopyObject target's row before its place and body: the source's with the request's metadata,
 * tags and time, and the ACL, class and restore copy-rules.ts gives it.
 */
function copiedRow(
  from: ObjectRow,
  copy: {
    ontoItself: boolean;
    bucketClass: StorageClass;
    meta: ObjectMeta | undefined;
    settings: ObjectSettings;
    lastModified: number;
  },
): ObjectRow {
  const { settings } = copy;
  const resolved = copyTarget({
    source: { acl: from.acl, storageClass: from.storage_class },
    ontoItself: copy.ontoItself,
    bucketClass: copy.bucketClass,
    settings,
  });
  return {
    ...from,
    meta: copy.meta ? JSON.stringify(copy.meta) : from.meta,
    last_modified_ms: copy.lastModified,
    acl: resolved.acl,
    tags: settings.tags === undefined ? from.tags : formatTags(settings.tags),
    storage_class: resolved.storageClass,
    restore_ready_ms: resolved.keepsRestore ? from.restore_ready_ms : null,
    restore_expires_ms: resolved.keepsRestore ? from.restore_expires_ms : null,
  };
}

class FsObjectStore implements ObjectStore, MultipartStore, HealthCheckedStore {
  readonly #db: MetaDb;
  readonly #files: Omit<FsStoreFiles, 'db'>;
  readonly #blobs: BlobDir;
  readonly #unlock: () => Promise<void>;
  readonly #crc64: { pool: Crc64Pool; owned: boolean };
  readonly #space: FreeSpace;
  readonly #reserve: ReserveFile;
  readonly callbackLog: CallbackLog;
  /** Reads or generates the master key on first use (most data dirs never encrypt anything). */
  readonly #loadMasterKey: () => Promise<Buffer>;
  #loadedMasterKey: Buffer | undefined;

  constructor(
    db: MetaDb,
    blobs: BlobDir,
    unlock: () => Promise<void>,
    crc64: { pool: Crc64Pool; owned: boolean },
    space: { free: FreeSpace; reserve: ReserveFile },
    files: Omit<FsStoreFiles, 'db'>,
    masterKey: () => Promise<Buffer>,
  ) {
    this.#loadMasterKey = masterKey;
    this.#db = db;
    this.#files = files;
    this.#blobs = blobs;
    this.#unlock = unlock;
    this.#crc64 = crc64;
    this.#space = space.free;
    this.#reserve = space.reserve;
    this.callbackLog = openSqliteCallbackLog(db.db);
  }

  /**
   * A transaction that frees space or finishes an upload (delete, abort, complete): it must work
   * on a full disk, so a lack of room spends the reserve file and runs it again (reserve-file.ts).
   */
  #freeing<T>(commit: () => T): T {
    return this.#reserve.retryOnFull(() => this.#db.transaction(commit));
  }

  get multipart(): MultipartStore {
    return this;
  }

  #requireBucket(name: string): void {
    if (!this.#db.getBucket(name)) throw noSuchBucket(name);
  }

  /** The class of objects that name none. @throws NoSuchBucket */
  #bucketClass(name: string): StorageClass {
    const row = this.#db.getBucket(name);
    if (!row) throw noSuchBucket(name);
    return row.storage_class;
  }

  #requireUpload(ref: UploadRef): UploadRow {
    const upload = this.#db.getUpload(ref.uploadId);
    if (!upload || upload.bucket !== ref.bucket || upload.key.toString('utf8') !== ref.key)
      throw noSuchUpload(ref.uploadId);
    return upload;
  }

  async #masterKey(): Promise<Buffer> {
    this.#loadedMasterKey ??= await this.#loadMasterKey();
    return this.#loadedMasterKey;
  }

  /** A new data key record when `settings` ask for server-side encryption. */
  async #newEncryption(settings: ObjectSettings | undefined): Promise<ObjectEncryption | undefined> {
    if (settings?.serverSideEncryption === undefined) return undefined;
    return newObjectEncryption(await this.#masterKey()).record;
  }

  async #dataKey(encryption: ObjectEncryption | undefined): Promise<Buffer | undefined> {
    return encryption === undefined ? undefined : unwrapDataKey(await this.#masterKey(), encryption);
  }

  /**
   * Streams a body into a new blob, durable once this resolves; the caller commits or removes it.
   * With a data key the blob is encrypted; the digests are always of the plaintext.
   */
  async #writeBlob(
    body: Readable,
    maxSize: number | undefined,
    options?: ReceiveBodyOptions,
    dataKey?: Buffer,
  ): Promise<{ id: string; received: ReceivedBody }> {
    const pending = this.#blobs.create();
    const sink = dataKey === undefined ? pending.sink : encryptingSink(pending.sink, dataKey);
    try {
      const received = await receiveBody(body, sink, maxSize, {
        ...options,
        crc64Pool: this.#crc64.pool,
      });
      return { id: pending.id, received };
    } catch (error) {
      await pending.discard();
      throw error;
    }
  }

  /**
   * Runs the caller's `beforeCommit` check on the written, not yet committed blob `id` (`pending`
   * is built only when there is a check); when the check refuses, the blob is removed at once.
   */
  async #checkOrRemove<T>(
    id: string,
    beforeCommit: ((pending: T) => void | Promise<void>) | undefined,
    pending: () => T,
  ): Promise<void> {
    if (beforeCommit === undefined) return;
    try {
      await beforeCommit(pending());
    } catch (error) {
      await this.#blobs.removeNow([id]);
      throw error;
    }
  }

  /** Runs `commit` (a synchronous transaction); on failure the new blobs are removed at once. */
  async #commitOrRemove<T>(newBlobs: readonly string[], commit: () => T): Promise<T> {
    try {
      return this.#db.transaction(commit);
    } catch (error) {
      await this.#blobs.removeNow(newBlobs);
      throw error;
    }
  }

  async createBucket(
    name: string,
    acl: BucketAcl,
    storageClass: StorageClass = 'Standard',
  ): Promise<BucketInfo> {
    const createdMs = Date.now();
    if (!this.#db.transaction(() => this.#db.insertBucket(name, createdMs, acl, storageClass)))
      throw bucketAlreadyExists(name);
    return { name, creationDate: new Date(createdMs), acl, storageClass };
  }

  async getBucket(name: string): Promise<BucketInfo> {
    const row = this.#db.getBucket(name);
    if (!row) throw noSuchBucket(name);
    return toBucketInfo(row);
  }

  async setBucketAcl(name: string, acl: BucketAcl): Promise<void> {
    if (!this.#db.transaction(() => this.#db.setAcl(name, acl))) throw noSuchBucket(name);
  }

  async putBucketSetting<N extends BucketSettingName>(
    bucket: string,
    name: N,
    value: BucketSettings[N] | undefined,
  ): Promise<void> {
    const json = value === undefined ? null : JSON.stringify(value);
    if (!this.#db.transaction(() => this.#db.putSetting(bucket, name, json))) throw noSuchBucket(bucket);
  }

  async getBucketSetting<N extends BucketSettingName>(
    bucket: string,
    name: N,
  ): Promise<BucketSettings[N] | undefined> {
    const json = this.#db.getSetting(bucket, name);
    if (json === undefined) throw noSuchBucket(bucket);
    return json === null ? undefined : (JSON.parse(json) as BucketSettings[N]);
  }

  async listBuckets(): Promise<BucketInfo[]> {
    return this.#db.listBuckets().map(toBucketInfo);
  }

  async deleteBucket(name: string): Promise<void> {
    this.#db.transaction(() => {
      this.#requireBucket(name);
      if (this.#db.bucketHasObjects(name) || this.#db.bucketHasUploads(name)) throw bucketNotEmpty(name);
      this.#db.deleteBucket(name);
    });
  }

  async putObject(bucket: string, key: string, body: Readable, options: PutOptions): Promise<StoredObject> {
    const bucketClass = this.#bucketClass(bucket);
    // Refused before a byte of the body is read when the key is taken already; the commit decides.
    checkOverwrite(options, this.#db.getSegments(bucket, utf8(key)) !== undefined, key);
    // Below the reserve already: refused before a byte of the body is read.
    await this.#space.require();
    const encryption = await this.#newEncryption(options.settings);
    // onReceived fires inside, while the blob is made durable (PutOptions).
    const { id, received } = await this.#writeBlob(
      body,
      options.maxSize,
      reportingTo(options.onReceived),
      await this.#dataKey(encryption),
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
      meta: options.meta,
      acl: options.settings?.acl ?? 'default',
      tags: options.settings?.tags ?? [],
      storageClass: options.settings?.storageClass ?? bucketClass,
    };
    const row = toObjectRow(object, [{ id, size: received.size }], encryption);
    await this.#checkOrRemove(id, options.beforeCommit, () => toStoredObject(row));
    const dropped = await this.#commitOrRemove([id], () => {
      this.#requireBucket(bucket);
      const old = this.#db.getSegments(bucket, row.key);
      checkOverwrite(options, old !== undefined, key);
      this.#db.upsertObject(row);
      return segmentIds(old);
    });
    this.#blobs.drop(dropped);
    return toStoredObject(row);
  }

  async headObject(bucket: string, key: string): Promise<StoredObject> {
    return toStoredObject(this.#requireObject(bucket, key));
  }

  #requireObject(bucket: string, key: string): ObjectRow {
    const row = this.#db.getObject(bucket, utf8(key));
    if (row) return row;
    this.#requireBucket(bucket);
    throw noSuchKey(key);
  }

  async getObject(bucket: string, key: string, range?: ByteRange): Promise<ObjectStream> {
    let row = this.#requireObject(bucket, key);
    if (row.encryption !== null) {
      // Loading the master key may wait on its file: read the row again after it, so the row,
      // its key and the pin of its blobs all come from one tick.
      await this.#masterKey();
      row = this.#requireObject(bucket, key);
    }
    const encryption = parseEncryption(row.encryption);
    const dataKey = encryption === undefined ? undefined : unwrapDataKey(this.#loadedMasterKey!, encryption);
    // Same tick as the read of the row: the blobs are pinned before any delete can drop them.
    const body = this.#blobs.read(
      parseSegments(row.segments),
      range ?? { start: 0, end: row.size - 1 },
      dataKey,
    );
    return { object: toStoredObject(row), body };
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const dropped = this.#freeing(() => {
      const old = this.#db.getSegments(bucket, utf8(key));
      if (old === undefined) {
        this.#requireBucket(bucket);
        return [];
      }
      this.#db.deleteObject(bucket, utf8(key));
      return segmentIds(old);
    });
    this.#blobs.drop(dropped);
  }

  async copyObject(
    source: CopySource,
    bucket: string,
    key: string,
    meta?: ObjectMeta,
    settings: ObjectSettings = {},
    options?: OverwriteOptions,
  ): Promise<StoredObject> {
    this.#requireBucket(source.bucket);
    const from = this.#requireObject(source.bucket, source.key);
    const bucketClass = this.#bucketClass(bucket);
    // Before any blob is linked (a copy onto itself always has a target); the commit decides.
    checkOverwrite(options, this.#db.getSegments(bucket, utf8(key)) !== undefined, key);
    // A copy is a new object: refused below the reserve even when it shares the source's blobs.
    await this.#space.require();
    const lastModified = Date.now();
    const sourceEncryption = parseEncryption(from.encryption);
    if ((sourceEncryption !== undefined) !== (settings.serverSideEncryption !== undefined)) {
      return this.#copyReencoded(from, bucket, key, meta, settings, lastModified);
    }
    const ontoItself = source.bucket === bucket && source.key === key;
    const copied = copiedRow(from, { ontoItself, bucketClass, meta, settings, lastModified });
    if (ontoItself) {
      // Onto itself: only the metadata, settings and time change; the blobs stay where they are.
      this.#db.transaction(() => this.#db.updateObjectMeta(copied));
      return toStoredObject(copied);
    }
    // Pin the source blobs while linking, so a concurrent delete of the source cannot unlink them.
    const sourceSegments = parseSegments(from.segments);
    const unpin = this.#blobs.pin(sourceSegments.map((s) => s.id));
    const segments: Segment[] = [];
    try {
      for (const s of sourceSegments) segments.push({ id: await this.#blobs.duplicate(s.id), size: s.size });
    } catch (error) {
      await this.#blobs.removeNow(segments.map((s) => s.id));
      throw error;
    } finally {
      unpin();
    }
    // FIDELITY: the copy keeps the source's type, ETag and CRC-64.
    // Encrypted on both sides: the linked blobs keep the source's data key, so the row does too.
    const row: ObjectRow = { ...copied, bucket, key: utf8(key), segments: formatSegments(segments) };
    const newIds = segments.map((s) => s.id);
    const dropped = await this.#commitOrRemove(newIds, () => {
      this.#requireBucket(bucket);
      const old = this.#db.getSegments(bucket, row.key);
      checkOverwrite(options, old !== undefined, key);
      this.#db.upsertObject(row);
      return segmentIds(old);
    });
    this.#blobs.drop(dropped);
    return toStoredObject(row);
  }

  /**
   * A copy encrypted on one side only (CopyObject asks for SSE on a plain source, or none on an
   * encrypted one, also onto itself): the data is read as plaintext and written anew, encrypted or
   * not. The copy still keeps the source's type, ETag and CRC-64, which are of the plaintext.
   */
  async #copyReencoded(
    from: ObjectRow,
    bucket: string,
    key: string,
    meta: ObjectMeta | undefined,
    settings: ObjectSettings,
    lastModified: number,
  ): Promise<StoredObject> {
    const ontoItself = from.bucket === bucket && from.key.toString('utf8') === key;
    const bucketClass = this.#bucketClass(bucket);
    const sourceKey = await this.#dataKey(parseEncryption(from.encryption));
    const plaintext = this.#blobs.read(
      parseSegments(from.segments),
      { start: 0, end: from.size - 1 },
      sourceKey,
    );
    const encryption = await this.#newEncryption(settings);
    const { id, received } = await this.#writeBlob(plaintext, undefined, {}, await this.#dataKey(encryption));
    const row: ObjectRow = {
      ...copiedRow(from, { ontoItself, bucketClass, meta, settings, lastModified }),
      bucket,
      key: utf8(key),
      segments: formatSegments([{ id, size: received.size }]),
      encryption: formatEncryption(encryption),
    };
    const dropped = await this.#commitOrRemove([id], () => {
      this.#requireBucket(bucket);
      const old = this.#db.getSegments(bucket, row.key);
      this.#db.upsertObject(row);
      return segmentIds(old);
    });
    this.#blobs.drop(dropped);
    return toStoredObject(row);
  }

  async setObjectAcl(bucket: string, key: string, acl: ObjectAcl): Promise<void> {
    if (!this.#db.transaction(() => this.#db.setObjectAcl(bucket, utf8(key), acl)))
      this.#requireObject(bucket, key);
  }

  async setObjectRestore(bucket: string, key: string, restore: ObjectRestore): Promise<void> {
    const { readyAt, expiresAt } = restore;
    if (
      !this.#db.transaction(() =>
        this.#db.setObjectRestore(bucket, utf8(key), readyAt.getTime(), expiresAt.getTime()),
      )
    )
      this.#requireObject(bucket, key);
  }

  async setObjectTags(bucket: string, key: string, tags: readonly ObjectTag[]): Promise<void> {
    if (!this.#db.transaction(() => this.#db.setObjectTags(bucket, utf8(key), formatTags(tags))))
      this.#requireObject(bucket, key);
  }

  async appendObject(
    bucket: string,
    key: string,
    position: number,
    body: Readable,
    options: PutOptions,
  ): Promise<StoredObject> {
    const keyBytes = utf8(key);
    const settings = { storageClass: this.#bucketClass(bucket), ...options.settings };
    const before = this.#db.getObject(bucket, keyBytes);
    checkAppendable(before && toStoredObject(before), position);
    await this.#space.require();
    // The object's data key, or (the append that creates it) a new one when asked for.
    const encryption = before
      ? parseEncryption(before.encryption)
      : await this.#newEncryption(options.settings);
    const { id, received } = await this.#writeBlob(
      body,
      options.maxSize,
      {},
      await this.#dataKey(encryption),
    );
    const current = this.#db.getObject(bucket, keyBytes);
    const pending = appendedObject(
      bucket,
      key,
      current && toStoredObject(current),
      received,
      options.meta,
      settings,
    );
    await this.#checkOrRemove(id, options.beforeCommit, () => pending);
    const row = await this.#commitOrRemove([id], () => {
      this.#requireBucket(bucket);
      // Re-read inside the transaction: another append may have committed meanwhile.
      const latest = this.#db.getObject(bucket, keyBytes);
      checkAppendable(latest && toStoredObject(latest), position);
      // Replaced meanwhile by an object of the same size under another data key: this body,
      // encrypted for the one it saw, cannot join it.
      if (latest && latest.encryption !== formatEncryption(encryption)) {
        throw positionNotEqualToLength(latest?.size ?? 0);
      }
      const object = appendedObject(
        bucket,
        key,
        latest && toStoredObject(latest),
        received,
        options.meta,
        settings,
      );
      const segments = [...(latest ? parseSegments(latest.segments) : []), { id, size: received.size }];
      const next = toObjectRow(object, segments, encryption);
      this.#db.upsertObject(next);
      return next;
    });
    return toStoredObject(row);
  }

  async listObjects(bucket: string, query: ListQuery): Promise<ListPage> {
    this.#requireBucket(bucket);
    const prefix = utf8(query.prefix ?? '');
    const end = prefixEnd(prefix);
    // One range scan on the primary key: from the prefix, or just after `after` when that is further on.
    const after = query.after === undefined ? undefined : utf8(query.after);
    const exclusive = after !== undefined && Buffer.compare(after, prefix) >= 0;
    const rows = this.#db.scan(bucket, exclusive ? after : prefix, exclusive, end, query.maxKeys + 1);
    return {
      objects: rows.slice(0, query.maxKeys).map(toStoredObject),
      isTruncated: rows.length > query.maxKeys,
    };
  }

  /** Readiness (store-health.ts): the metadata database and the blob directory. */
  checkHealth(): Promise<StoreHealthCheck[]> {
    return checkFsStoreHealth({ db: this.#db.db, ...this.#files });
  }

  async close(): Promise<void> {
    if (!this.#db.isOpen) return;
    await this.#blobs.close();
    this.#reserve.close();
    this.#db.close();
    if (this.#crc64.owned) await this.#crc64.pool.close();
    await this.#unlock();
  }

  // MultipartStore

  async initiate(
    bucket: string,
    key: string,
    meta: ObjectMeta,
    settings: ObjectSettings = {},
  ): Promise<UploadInfo> {
    const bucketClass = this.#bucketClass(bucket);
    // Only a row, but one that leads to parts: say "full" before the client sends them.
    await this.#space.require();
    const now = Date.now();
    const row: UploadRow = {
      upload_id: newUploadId(now),
      bucket,
      key: utf8(key),
      initiated_ms: now,
      meta: JSON.stringify(meta),
      acl: settings.acl ?? 'default',
      tags: formatTags(settings.tags ?? []),
      storage_class: settings.storageClass ?? bucketClass,
      // The parts are encrypted as they arrive, under the key the completed object will have.
      encryption: formatEncryption(await this.#newEncryption(settings)),
    };
    this.#db.transaction(() => this.#db.insertUpload(row));
    return toUploadInfo(row);
  }

  async uploadPart(
    ref: UploadRef,
    partNumber: number,
    body: Readable,
    options: PartOptions = {},
  ): Promise<PartRecord> {
    const upload = this.#requireUpload(ref);
    await this.#space.require();
    const dataKey = await this.#dataKey(parseEncryption(upload.encryption));
    const { id, received } = await this.#writeBlob(body, options.maxSize, {}, dataKey);
    const row: PartRow = {
      upload_id: ref.uploadId,
      part_number: partNumber,
      blob: id,
      size: received.size,
      etag: received.etag,
      crc64: received.crc64,
      last_modified_ms: Date.now(),
    };
    await this.#checkOrRemove(id, options.beforeCommit, () => toPartRecord(row));
    const dropped = await this.#commitOrRemove([id], () => {
      // The upload may have been completed or aborted while the part streamed in.
      this.#requireUpload(ref);
      const old = this.#db.getPart(ref.uploadId, partNumber);
      this.#db.upsertPart(row);
      return old ? [old.blob] : [];
    });
    this.#blobs.drop(dropped);
    return toPartRecord(row);
  }

  async listParts(
    ref: UploadRef,
    after: number,
    maxParts: number,
  ): Promise<{ parts: PartRecord[]; isTruncated: boolean; storageClass: StorageClass }> {
    const upload = this.#requireUpload(ref);
    const rows = this.#db.listParts(ref.uploadId, after, maxParts + 1);
    return {
      parts: rows.slice(0, maxParts).map(toPartRecord),
      isTruncated: rows.length > maxParts,
      storageClass: upload.storage_class,
    };
  }

  async complete(ref: UploadRef, listed: CompletedPart[], options?: OverwriteOptions): Promise<StoredObject> {
    // Only metadata: allowed below the free-space reserve, which exists for commits like this one.
    const { row, dropped } = this.#freeing(() => {
      const upload = this.#requireUpload(ref);
      const stored = new Map<number, PartRow & PartRecord>();
      for (const part of this.#db.allParts(ref.uploadId))
        stored.set(part.part_number, { ...part, ...toPartRecord(part) });
      const parts = resolveCompletedParts(ref.uploadId, listed, (n) => stored.get(n));
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
        meta: JSON.parse(upload.meta) as ObjectMeta,
        acl: upload.acl,
        tags: parseTags(upload.tags),
        storageClass: upload.storage_class,
      };
      const row = toObjectRow(
        object,
        parts.map((p) => ({ id: p.blob, size: p.size })),
        parseEncryption(upload.encryption),
      );
      const old = this.#db.getSegments(ref.bucket, row.key);
      checkOverwrite(options, old !== undefined, ref.key);
      const used = new Set(parts.map((p) => p.blob));
      const dropped = segmentIds(old);
      for (const part of stored.values()) if (!used.has(part.blob)) dropped.push(part.blob);
      this.#db.upsertObject(row);
      this.#db.deleteUpload(ref.uploadId);
      return { row, dropped };
    });
    this.#blobs.drop(dropped);
    return toStoredObject(row);
  }

  async abort(ref: UploadRef): Promise<void> {
    const dropped = this.#freeing(() => {
      this.#requireUpload(ref);
      const blobs = this.#db.allParts(ref.uploadId).map((p) => p.blob);
      this.#db.deleteUpload(ref.uploadId);
      return blobs;
    });
    this.#blobs.drop(dropped);
  }

  async listUploads(
    bucket: string,
    query: MultipartListQuery,
  ): Promise<{ uploads: UploadInfo[]; isTruncated: boolean }> {
    this.#requireBucket(bucket);
    const prefix = utf8(query.prefix ?? '');
    const keyMarker = utf8(query.keyMarker ?? '');
    // With a key-marker, uploads of that very key come only after upload-id-marker; without one,
    // none of them do ('\uffff' sorts after every hex upload id). Without a key-marker, all do.
    const uploadIdMarker = query.keyMarker && query.uploadIdMarker ? query.uploadIdMarker : '\uffff';
    const rows = this.#db.listUploads(
      bucket,
      prefix,
      prefixEnd(prefix),
      keyMarker,
      uploadIdMarker,
      query.maxUploads + 1,
    );
    return {
      uploads: rows.slice(0, query.maxUploads).map(toUploadInfo),
      isTruncated: rows.length > query.maxUploads,
    };
  }
}

/**
 * Opens (creating if needed) the store in `dataDir`: `meta.sqlite`, `blobs/`, `tmp/`, `lock`,
 * `reserve`.
 * Sweeps temp files and orphan blobs left by a crash before returning.
 * @throws Error when another live process has the data dir open
 */
export async function createFsObjectStore(options: FsObjectStoreOptions): Promise<ObjectStore> {
  await mkdir(options.dataDir, { recursive: true });
  const unlock = await lockDataDir(options.dataDir);
  let db: MetaDb | undefined;
  try {
    const dbPath = join(options.dataDir, 'meta.sqlite');
    db = new MetaDb(dbPath);
    const meta = db;
    const minFreeBytes = options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
    const free = await FreeSpace.open(options.dataDir, minFreeBytes);
    // Off with the free-space reserve: a store told to fill its disk keeps no blocks back either.
    const reserve = new ReserveFile(
      join(options.dataDir, 'reserve'),
      Math.min(RESERVE_FILE_BYTES, minFreeBytes),
    );
    // The WAL sync before dropped blobs are unlinked is what frees their space: it must get room.
    const blobs = await BlobDir.open(options.dataDir, () => reserve.retryOnFull(() => meta.syncWal()), {
      fsync: options.fsync ?? true,
      space: free,
    });
    const { dev, ino } = await stat(dbPath);
    const referenced = meta.referencedBlobs();
    await blobs.sweep((id) => referenced.has(id));
    await reserve.fill();
    // The reserve file's blocks were taken after the first measurement: measure them in.
    await free.refresh();
    const crc64 = options.crc64Pool
      ? { pool: options.crc64Pool, owned: false }
      : { pool: new Crc64Pool(), owned: true };
    return new FsObjectStore(
      meta,
      blobs,
      unlock,
      crc64,
      { free, reserve },
      { dbPath, dbIdentity: { dev, ino }, blobsDir: join(options.dataDir, 'blobs') },
      options.masterKey === undefined
        ? () => loadOrCreateMasterKey(options.dataDir)
        : () => Promise.resolve(checkMasterKey(options.masterKey!)),
    );
  } catch (error) {
    db?.close();
    await unlock();
    throw error;
  }
}
