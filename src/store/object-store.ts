/**
 * The storage contract. A store keeps buckets, objects and multipart uploads; it knows nothing of
 * HTTP, XML, authentication or callbacks (DESIGN.md). Every implementation (fs = blobs + SQLite,
 * memory) passes the one contract suite in test/contract/.
 *
 * Invariants every backend keeps:
 * - Writes are atomic: an object is visible whole or not at all. A failed, aborted or rejected
 *   write (stream error, `beforeCommit` throwing) leaves the previous object untouched.
 * - Bodies stream: nothing holds a whole object in memory.
 * - ETags are returned without quotes, upper-case hex (`<MD5>` or `<MD5-of-part-MD5s>-<N>`).
 * Errors are OssErrors from src/shared/oss-error.ts; each method lists the codes it throws.
 */
import type { Readable } from 'node:stream';
import type { CallbackLog } from './callback-log.ts';

export type BucketAcl = 'private' | 'public-read' | 'public-read-write';
export type ObjectType = 'Normal' | 'Multipart' | 'Appendable';
/** An object's own ACL; `default` follows the bucket's (OSS PutObjectACL). */
export type ObjectAcl = 'default' | BucketAcl;

/** OSS storage classes (`x-oss-storage-class`, `<StorageClass>`), by their wire names. */
export const STORAGE_CLASSES = ['Standard', 'IA', 'Archive', 'ColdArchive', 'DeepColdArchive'] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number];

/**
 * A RestoreObject's state on an archived object: readable from `readyAt` (OSS reports
 * `ongoing-request="true"` until then) until `expiresAt`, after which it is archived again.
 */
export interface ObjectRestore {
  readyAt: Date;
  expiresAt: Date;
}

/** One object tag (OSS object tagging): keys are unique within an object, order is kept. */
export interface ObjectTag {
  key: string;
  value: string;
}

/**
 * What an upload may set besides its metadata (`x-oss-object-acl`, `x-oss-tagging`). Absent
 * fields leave the stored value as the operation's rule says (see each method).
 */
export interface ObjectSettings {
  acl?: ObjectAcl;
  tags?: readonly ObjectTag[];
  /** Absent: the bucket's storage class (OSS: the bucket's class is the default of its objects). */
  storageClass?: StorageClass;
  /**
   * `AES256`: the object's data is encrypted at rest (`x-oss-server-side-encryption`,
   * src/store/encryption/); absent: stored as sent. The server resolves the bucket default first.
   */
  serverSideEncryption?: ServerSideEncryption;
}

/** Server-side encryption upcall carries out: SSE-OSS (AES256). KMS and SM4 need a key service. */
export type ServerSideEncryption = 'AES256';

/** A bucket's default encryption (OSS PutBucketEncryption `ApplyServerSideEncryptionByDefault`). */
export interface BucketEncryption {
  algorithm: ServerSideEncryption;
}

export interface BucketInfo {
  name: string;
  creationDate: Date;
  acl: BucketAcl;
  /** PutBucket's `<StorageClass>`: the class of objects uploaded without one. */
  storageClass: StorageClass;
}

/** One CORS rule of a bucket (OSS PutBucketCors `CORSRule`); values as the owner wrote them. */
export interface CorsRule {
  /** Origins, each with at most one `*` wildcard. */
  allowedOrigins: readonly string[];
  /** GET, PUT, POST, DELETE, HEAD. */
  allowedMethods: readonly string[];
  /** Request headers a preflight may ask for, each with at most one `*` wildcard. */
  allowedHeaders: readonly string[];
  /** Response headers the page's JavaScript may read. */
  exposeHeaders: readonly string[];
  maxAgeSeconds?: number;
}

/** A bucket's CORS configuration (OSS `CORSConfiguration`): rules in the order they were put. */
export interface BucketCors {
  rules: readonly CorsRule[];
  /** `ResponseVary`: add `Vary: Origin` to every response with CORS headers. */
  responseVary: boolean;
}

/**
 * When a lifecycle action applies (OSS `Days` or `CreatedBeforeDate`): `days` after the object's
 * last modification (an upload's initiation), or to everything last modified (initiated) before
 * `createdBeforeDate`, an ISO 8601 UTC midnight such as `2026-01-01T00:00:00.000Z`.
 */
export type LifecycleTime = { days: number } | { createdBeforeDate: string };

/** One rule of a bucket's lifecycle (OSS PutBucketLifecycle `Rule`), as the owner wrote it. */
export interface LifecycleRule {
  /** Unique within the configuration; generated when the owner gave none. */
  id: string;
  /** Keys the rule applies to; '' is every key. */
  prefix: string;
  status: 'Enabled' | 'Disabled';
  /** Only objects carrying every one of these tags (key and value) match; never uploads. */
  tags: readonly ObjectTag[];
  /** Deletes matching objects. */
  expiration?: LifecycleTime;
  /** Aborts matching incomplete multipart uploads (no tags allowed on such a rule). */
  abortMultipartUpload?: LifecycleTime;
}

/** A bucket's lifecycle configuration (OSS `LifecycleConfiguration`): rules in the order put. */
export interface BucketLifecycle {
  rules: readonly LifecycleRule[];
}

/**
 * The bucket settings a store keeps, by name: each a whole configuration the owner puts, reads and
 * deletes (OSS `?cors`, `?lifecycle`, `?encryption`), opaque to the store.
 */
export interface BucketSettings {
  cors: BucketCors;
  lifecycle: BucketLifecycle;
  encryption: BucketEncryption;
}
export type BucketSettingName = keyof BucketSettings;

/** HTTP metadata stored with an object and replayed on GET/HEAD. */
export interface ObjectMeta {
  contentType: string;
  contentDisposition?: string;
  contentEncoding?: string;
  cacheControl?: string;
  expires?: string;
  /** `x-oss-meta-*` values, keyed by the lower-case suffix after `x-oss-meta-`. */
  userMeta: Record<string, string>;
}

export interface StoredObject {
  bucket: string;
  key: string;
  size: number;
  /** Upper-case hex, no quotes. */
  etag: string;
  /** base64 MD5 of the whole body; only for single-request uploads (PutObject, PostObject, copy of one). */
  contentMd5?: string;
  /** CRC-64/XZ (ECMA-182) as a decimal string, as in `x-oss-hash-crc64ecma`. */
  crc64: string;
  lastModified: Date;
  type: ObjectType;
  meta: ObjectMeta;
  /** `default` unless an upload, a copy or PutObjectAcl set one. */
  acl: ObjectAcl;
  /** Empty unless set; changing them does not change `lastModified` (OSS PutObjectTagging). */
  tags: readonly ObjectTag[];
  storageClass: StorageClass;
  /** The last RestoreObject, while it is ongoing or in force (kept after it expires until replaced). */
  restore?: ObjectRestore;
  /** Set when the data is encrypted at rest; digests (ETag, CRC-64, Content-MD5) are of the plaintext. */
  serverSideEncryption?: ServerSideEncryption;
}

export interface ByteRange {
  /** Inclusive first byte. */
  start: number;
  /** Inclusive last byte. */
  end: number;
}

export interface ObjectStream {
  object: StoredObject;
  /** Consume it or destroy it: an open body keeps its data readable (fs pins the blobs) even if the object is deleted meanwhile. */
  body: Readable;
}

/**
 * Conditions a write checks at its commit point, atomically with making the object visible
 * (overwrite-rules.ts).
 */
export interface OverwriteOptions {
  /**
   * `x-oss-forbid-overwrite: true`: the write fails with FileAlreadyExists, and nothing is
   * written, when an object exists at the target key at commit time. Of concurrent writes to a
   * new key that all set it, exactly one succeeds.
   */
  forbidOverwrite?: boolean;
}

/** `forbidOverwrite` counts in putObject only; appendObject ignores it (OSS AppendObject has no x-oss-forbid-overwrite). */
export interface PutOptions extends OverwriteOptions {
  meta: ObjectMeta;
  /**
   * PutObject: the new object's ACL and tags (absent: `default`, none). AppendObject: an `acl`
   * replaces the object's on every append (as PutObjectAcl would); `tags` and
   * `serverSideEncryption` count only on the append that creates the object, like `meta` (later
   * appends are encrypted as the object is).
   */
  settings?: ObjectSettings;
  /**
   * Runs after the body is fully received and hashed, before the object becomes visible.
   * Throwing aborts the write (e.g. BadDigest, InvalidCRC64, EntityTooLarge) and nothing changes.
   */
  beforeCommit?: (pending: StoredObject) => void | Promise<void>;
  /** Fails the write with EntityTooLarge as soon as more bytes than this arrive. */
  maxSize?: number;
  /**
   * The body's length when the request declared it (Content-Length, not chunked). A backend may use
   * it to stream the body on as it arrives (the gateway: one blob with that length); it still counts
   * the bytes and fails with IncompleteBody when the body ends short. fs and memory ignore it.
   */
  size?: number;
  /**
   * Called at most once, synchronously, as soon as the whole body has arrived and been hashed, before
   * the backend makes it durable and commits it. The upload can still fail after this (a disk error,
   * a digest check in beforeCommit, a missing bucket), so use it only to start work that is simply
   * dropped then (e.g. signing an upload callback). Not called when receiving fails. Must not throw.
   * PutObject only (and PostObject, which uses it); appendObject ignores it.
   */
  onReceived?: (body: ReceivedDigests) => void;
}

/** A received body's facts, known before it is committed (same meanings as StoredObject's fields). */
export interface ReceivedDigests {
  size: number;
  /** Upper-case hex MD5, no quotes. */
  etag: string;
  /** base64 MD5 of the body. */
  contentMd5: string;
  /** CRC-64/XZ (ECMA-182) as a decimal string. */
  crc64: string;
}

/**
 * A key-range scan: keys that start with `prefix` and sort after `after`, in UTF-8 byte order.
 * Folding keys into CommonPrefixes (a delimiter) is not the store's job: the server does it in one
 * place for every backend (src/server/operations/list-objects-page.ts), over these plain pages.
 */
export interface ListQuery {
  prefix?: string;
  /** Exclusive lower bound on keys (ListObjects marker, ListObjectsV2 start-after/continuation). */
  after?: string;
  /** 1..1000 */
  maxKeys: number;
}

export interface ListPage {
  /** At most `maxKeys`, in UTF-8 byte order of their keys. */
  objects: StoredObject[];
  /** True when at least one more key in the range follows the last one returned. */
  isTruncated: boolean;
}

export interface CopySource {
  bucket: string;
  key: string;
}

/**
 * A backend with finite space (fs) throws InsufficientStorage from the methods that add data
 * (putObject, copyObject, appendObject, initiate, uploadPart) once it is down to its free-space
 * reserve, and from any write when the disk is full anyway; the methods that remove or finish
 * (deleteObject, abort, complete) must keep working at the reserve.
 */
export interface ObjectStore {
  /** `storageClass` defaults to Standard. @throws BucketAlreadyExists (a bucket of that name exists) */
  createBucket(name: string, acl: BucketAcl, storageClass?: StorageClass): Promise<BucketInfo>;
  /** @throws NoSuchBucket */
  getBucket(name: string): Promise<BucketInfo>;
  /** @throws NoSuchBucket */
  setBucketAcl(name: string, acl: BucketAcl): Promise<void>;
  listBuckets(): Promise<BucketInfo[]>;
  /**
   * PutBucketCors / PutBucketLifecycle / PutBucketEncryption (a value) and their Delete (`undefined`):
   * replaces the bucket's whole setting `name`, leaving its other settings as they are. A store
   * keeps the value as given (the server parsed and validated it) and it survives a restart (the
   * lifecycle sweep reads it back). @throws NoSuchBucket
   */
  putBucketSetting<N extends BucketSettingName>(
    bucket: string,
    name: N,
    value: BucketSettings[N] | undefined,
  ): Promise<void>;
  /**
   * The bucket's setting `name`, or undefined when none is set (a new bucket has none). The value
   * is the caller's: changing it changes nothing stored. `use: 'write'`: for the defaults of a
   * write about to be received (withBucketEncryption), which a store shared by several processes
   * may answer from a cache that another process's change reaches within moments (the gateway's
   * bucket cache); anything that answers with the setting itself leaves it out. @throws NoSuchBucket
   */
  getBucketSetting<N extends BucketSettingName>(
    bucket: string,
    name: N,
    use?: 'write',
  ): Promise<BucketSettings[N] | undefined>;
  /**
   * Runs a background sweep (`name`, e.g. the lifecycle sweep) unless another process sharing
   * this store's data runs the same sweep now: then resolves undefined without running `fn`. A
   * store that only one process serves (fs, memory) has nothing to elect and leaves it out; the
   * gateway store holds a PostgreSQL advisory lock, so of N gateways one sweeps per round.
   */
  withSweepLock?<T>(name: string, fn: () => Promise<T>): Promise<T | undefined>;
  /** @throws NoSuchBucket | BucketNotEmpty (objects or multipart uploads remain) */
  deleteBucket(name: string): Promise<void>;

  /** Streams `body` into the object, replacing any existing one atomically (unless `forbidOverwrite`).
   *  @throws NoSuchBucket | EntityTooLarge | InsufficientStorage | FileAlreadyExists (forbidOverwrite)
   *  | whatever `beforeCommit` throws */
  putObject(bucket: string, key: string, body: Readable, options: PutOptions): Promise<StoredObject>;
  /** @throws NoSuchBucket | NoSuchKey */
  headObject(bucket: string, key: string): Promise<StoredObject>;
  /** `range` must already be resolved against the object's size (the caller checks InvalidRange).
   *  @throws NoSuchBucket | NoSuchKey */
  getObject(bucket: string, key: string, range?: ByteRange): Promise<ObjectStream>;
  /** Idempotent: deleting a missing key succeeds. @throws NoSuchBucket */
  deleteObject(bucket: string, key: string): Promise<void>;
  /**
   * Copies data; `meta` replaces the source's metadata when given (x-oss-metadata-directive: REPLACE).
   * `settings.tags` replaces the source's tags when given (x-oss-tagging-directive: Replace), else
   * they are copied. `settings.acl` is the target's ACL; absent, a new target gets `default` and
   * a copy onto itself keeps its own. `settings.storageClass` is the target's class (how OSS
   * converts classes); absent, a new target gets its bucket's class and a copy onto itself keeps
   * its own. A new target has no restore; a copy onto itself keeps it unless its class changes.
   * `options.forbidOverwrite` refuses an existing target, a copy onto itself included.
   * `settings.serverSideEncryption` decides whether the target is encrypted, whatever the source
   * was (the data is re-encoded when the two differ), also for a copy onto itself.
   * @throws NoSuchBucket | NoSuchKey | InsufficientStorage | FileAlreadyExists (forbidOverwrite)
   */
  // FIDELITY: OSS does not say what ACL or storage class a copy gets without x-oss-object-acl /
  // x-oss-storage-class; a new object's `default` and its bucket's class are assumed, and a
  // metadata-changing copy onto itself should lose neither.
  // FIDELITY: a new copy target is never restored; a copy onto itself keeps its restore unless
  // its storage class changes.
  copyObject(
    source: CopySource,
    bucket: string,
    key: string,
    meta?: ObjectMeta,
    settings?: ObjectSettings,
    options?: OverwriteOptions,
  ): Promise<StoredObject>;
  /** PutObjectAcl; leaves `lastModified` as it is. @throws NoSuchBucket | NoSuchKey */
  setObjectAcl(bucket: string, key: string, acl: ObjectAcl): Promise<void>;
  /** RestoreObject's state; leaves `lastModified`. @throws NoSuchBucket | NoSuchKey */
  setObjectRestore(bucket: string, key: string, restore: ObjectRestore): Promise<void>;
  /** PutObjectTagging / DeleteObjectTagging (`[]`); leaves `lastModified`. @throws NoSuchBucket | NoSuchKey */
  setObjectTags(bucket: string, key: string, tags: readonly ObjectTag[]): Promise<void>;
  /**
   * AppendObject: appends at `position`, which must equal the current size (0 creates the object).
   * @throws NoSuchBucket | PositionNotEqualToLength | ObjectNotAppendable | InsufficientStorage
   */
  appendObject(
    bucket: string,
    key: string,
    position: number,
    body: Readable,
    options: PutOptions,
  ): Promise<StoredObject>;
  /** One page of the key-range scan `query` describes (ListQuery). @throws NoSuchBucket */
  listObjects(bucket: string, query: ListQuery): Promise<ListPage>;

  readonly multipart: MultipartStore;

  /**
   * The log of upload callbacks the server attempted (callback-log.ts), kept in this store's
   * metadata database; absent in a backend that has none yet (the server then keeps no log).
   */
  readonly callbackLog?: CallbackLog | undefined;

  /** Releases file handles and database connections. */
  close(): Promise<void>;
}

export interface UploadRef {
  bucket: string;
  key: string;
  uploadId: string;
}

export interface PartRecord {
  partNumber: number;
  /** Upper-case hex MD5 of the part, no quotes. */
  etag: string;
  size: number;
  crc64: string;
  lastModified: Date;
}

export interface PartOptions {
  /** Fails the write with EntityTooLarge as soon as more bytes than this arrive. */
  maxSize?: number;
  /** The part's declared length (Content-Length, not chunked), as PutOptions.size. */
  size?: number;
  /**
   * Runs after the part is fully received and hashed, before it replaces an earlier part with the
   * same number. Throwing aborts the write (e.g. BadDigest, InvalidCRC64) and nothing changes.
   */
  beforeCommit?: (pending: PartRecord) => void | Promise<void>;
}

export interface CompletedPart {
  partNumber: number;
  /** As the client sent it; quotes and case are normalised by the store. */
  etag: string;
}

export interface UploadInfo {
  bucket: string;
  key: string;
  uploadId: string;
  initiated: Date;
  /** What the completed object gets (InitiateMultipartUpload's, else the bucket's). */
  storageClass: StorageClass;
}

export interface MultipartListQuery {
  prefix?: string;
  keyMarker?: string;
  uploadIdMarker?: string;
  maxUploads: number;
}

export interface MultipartStore {
  /** `settings` become the completed object's ACL, tags and encryption (its parts are stored encrypted). @throws NoSuchBucket | InsufficientStorage */
  initiate(bucket: string, key: string, meta: ObjectMeta, settings?: ObjectSettings): Promise<UploadInfo>;
  /** Replaces any earlier part with the same number. @throws NoSuchUpload | InsufficientStorage */
  uploadPart(ref: UploadRef, partNumber: number, body: Readable, options?: PartOptions): Promise<PartRecord>;
  /** Parts in part-number order; `after` = part-number-marker. @throws NoSuchUpload */
  listParts(
    ref: UploadRef,
    after: number,
    maxParts: number,
  ): Promise<{ parts: PartRecord[]; isTruncated: boolean; storageClass: StorageClass }>;
  /**
   * Assembles the listed parts into the object atomically, without reading it into memory, then
   * forgets the upload. Checks every listed ETag against the stored part. With
   * `options.forbidOverwrite` and an object at the key at commit time, nothing changes: the
   * upload and its parts stay (abort them or complete without the flag).
   * @throws NoSuchUpload | InvalidPart | InvalidPartOrder | EntityTooSmall (a non-last part < 100 KiB)
   *  | FileAlreadyExists (forbidOverwrite)
   */
  complete(ref: UploadRef, parts: CompletedPart[], options?: OverwriteOptions): Promise<StoredObject>;
  /** @throws NoSuchUpload */
  abort(ref: UploadRef): Promise<void>;
  /** @throws NoSuchBucket */
  listUploads(
    bucket: string,
    query: MultipartListQuery,
  ): Promise<{ uploads: UploadInfo[]; isTruncated: boolean }>;
}
