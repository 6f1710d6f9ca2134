/**
 * The gateway backend (issue 16): object data as immutable blobs in an S3-compatible engine
 * (blob-store.ts), all metadata and all atomicity in PostgreSQL, so any number of `upcall server`
 * processes over the same database and engine bucket serve one namespace.
 *
 * The fs backend's model (fs-object-store.ts), with the row commit as the commit point:
 * - an object row lists its body as segments, each a blob under a fresh random key; PutObject
 *   writes one blob (a body of declared length) or one per `segmentBytes` (segment-writer.ts), AppendObject adds the
 *   appended body's blobs, CompleteMultipartUpload hands the parts' blobs to the object (a
 *   metadata-only commit: OSS parts may be 100 KiB, S3 engines refuse parts under 5 MiB, so no
 *   S3 multipart is used), CopyObject copies the source's blobs server-side under new keys (every
 *   blob is owned by exactly one row: no reference counts);
 * - every write streams its blobs first (each recorded as an intent before its PUT), then one
 *   transaction re-checks what it depends on under row locks, swaps the rows, forgets the intents
 *   and records the blobs it no longer references in `blob_gc`, due after the grace period
 *   (PutObject does all of that in one statement, COMMIT_PUT: one round trip);
 * - readers are never blocked and need no pins: a reader that read a row before a replace or a
 *   delete finds the old blobs until the sweep deletes them, after the grace (blob-gc.ts).
 *
 * Races settled in PostgreSQL, never by the engine (Swift has no conditional PUT):
 * - overwrite vs overwrite: the object row is locked (`SELECT … FOR UPDATE`) or, when absent,
 *   inserted with `ON CONFLICT DO NOTHING`; a loser of that insert race locks the winner's row
 *   and replaces it, so the result is one whole body and every replaced blob reaches `blob_gc`;
 * - forbidOverwrite: the same statements; an existing row at commit time is FileAlreadyExists;
 * - AppendObject: the row is locked and its size re-checked against the position in the commit;
 * - DeleteBucket vs PutObject: objects and uploads reference their bucket (foreign key), so a
 *   bucket with rows cannot be deleted (BucketNotEmpty) and a row cannot enter a deleted bucket
 *   (NoSuchBucket);
 * - a part or completion vs abort: the upload row is locked (FOR SHARE / FOR UPDATE).
 *
 * One per-process cache, of bucket rows for the write paths' early check, invalidated across
 * gateways by PostgreSQL NOTIFY (bucket-cache.ts); what answers with bucket state or decides
 * access by it reads PostgreSQL (one primary-key lookup), so no gateway ever serves another's
 * stale bucket state.
 *
 * OSS metadata (user metadata, content type, ETag, CRC-64, ACL, tags, storage class, restore,
 * bucket ACL, CORS, lifecycle and default encryption) lives in PostgreSQL only: the engine stores bytes.
 *
 * Server-side encryption as the fs backend does it (encryption/object-cipher.ts): the wrapped data
 * key in the object / upload row, each blob encrypted on its own with its IV in front
 * (segment-writer.ts). The master key is shared by every gateway: given (`masterKey`), or created
 * once in PostgreSQL by the first gateway that needs it.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type pg from 'pg';
import { crc64Combine } from '../../shared/crc64.ts';
import { multipartEtag } from '../../shared/etag.ts';
import { appendedObject, checkAppendable } from '../append-rules.ts';
import type { CallbackLog } from '../callback-log.ts';
import { Crc64Pool } from '../hashing/crc64-pool.ts';
import { reportingTo } from '../hashing/hashing-writer.ts';
import { parseMasterKey } from '../encryption/master-key.ts';
import {
  checkMasterKey,
  newObjectEncryption,
  unwrapDataKey,
  type ObjectEncryption,
} from '../encryption/object-cipher.ts';
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
  type BucketColumns,
  type ObjectColumns,
  type PartColumns,
  type UploadColumns,
} from '../metadata-rows.ts';
import type {
  BucketAcl,
  BucketEncryption,
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
  ObjectRestore,
  ObjectSettings,
  ObjectStore,
  ObjectStream,
  ObjectTag,
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
import {
  IntentRecorder,
  PeriodicSweep,
  discardUncommitted,
  forgetIntents,
  recordGarbage,
  sweepGarbage,
} from './blob-gc.ts';
import type { BlobStore, S3Config } from './blob-store.ts';
import { COMPACT_ABOVE_SEGMENTS, compactSegments } from './append-compaction.ts';
import { BUCKET_CHANNEL, BucketCache } from './bucket-cache.ts';
import { openPgCallbackLog } from './pg-callback-log.ts';
import { createS3BlobStore } from './s3-blob-store.ts';
import { createPgPool, databaseError, query, sqlState, transaction } from './pg-pool.ts';
import { migrate, SWEEP_LOCK_CLASS } from './pg-schema.ts';
import {
  newBlobKey,
  readSegments,
  writeBody,
  type BlobWriterContext,
  type Segment,
} from './segment-writer.ts';

export interface GatewayObjectStoreOptions {
  /** `postgres://…` of the metadata database; the schema is created or migrated at open. */
  databaseUrl: string;
  /** The engine bucket blobs go to. */
  s3: S3Config;
  /**
   * The data layer; default the S3 blob store over `s3`, closed by `close()`. One passed here
   * (tests share one between stores) stays the caller's.
   */
  blobStore?: BlobStore | undefined;
  /**
   * How long a blob no row references any more (and an uncommitted blob's intent) is kept before
   * the sweep deletes it: longer than any read and any upload. Default 1 h.
   */
  gcGraceMs?: number | undefined;
  /** How often this gateway sweeps (default 60 s; 0: never on its own, only `sweepGarbage()`). */
  gcIntervalMs?: number | undefined;
  /** Body bytes per blob (default 8 MiB): memory per upload is two of these. */
  segmentBytes?: number | undefined;
  /** Prepended to every blob key (default none): stores sharing an engine bucket stay apart. */
  blobKeyPrefix?: string | undefined;
  /** As in FsObjectStoreOptions: a pool passed here stays the caller's. */
  crc64Pool?: Crc64Pool | undefined;
  /** The clock (ms) for timestamps and the grace period; tests move it. */
  now?: (() => number) | undefined;
  /** PostgreSQL connections of this gateway (default 20, pg-pool.ts). */
  poolSize?: number | undefined;
  /**
   * The server-side encryption master key (32 bytes), the same on every gateway. Default: the one
   * kept in the metadata database, generated by the first gateway that encrypts.
   */
  masterKey?: Buffer | undefined;
}

export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;
const DEFAULT_GC_INTERVAL_MS = 60 * 1000;
const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;

type BucketRow = BucketColumns;

/** A bucket row as the write paths read it: with the default encryption a PutObject applies. */
interface WriteBucketRow extends BucketRow {
  encryption: BucketEncryption | null;
}

interface ObjectRow extends ObjectColumns {
  meta: ObjectMeta;
  /** `[blob key, size]` pairs, in body order. */
  segments: [string, number][];
  /** `[key, value]` pairs, in order. */
  tags: [string, string][];
  /** The wrapped data key when the blobs are encrypted. */
  encryption: ObjectEncryption | null;
}

interface UploadRow extends UploadColumns {
  meta: ObjectMeta;
  acl: ObjectAcl;
  tags: [string, string][];
  /** The wrapped data key the parts are encrypted with (the completed object's). */
  encryption: ObjectEncryption | null;
}

interface PartRow extends PartColumns {
  segments: [string, number][];
}

const BUCKET_COLUMNS = 'name, created_ms, acl, storage_class';
const OBJECT_COLUMNS =
  'bucket, key, size, etag, content_md5, crc64, last_modified_ms, type, meta, segments, acl, tags, ' +
  'storage_class, restore_ready_ms, restore_expires_ms, encryption';
const UPLOAD_COLUMNS = 'upload_id, bucket, key, initiated_ms, meta, acl, tags, storage_class, encryption';
const PART_COLUMNS = 'part_number, segments, size, etag, crc64, last_modified_ms';

const INSERT_OBJECT = `INSERT INTO objects (${OBJECT_COLUMNS})
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
  ON CONFLICT (bucket, key) DO NOTHING`;
const UPDATE_OBJECT = `UPDATE objects SET size = $3, etag = $4, content_md5 = $5, crc64 = $6,
  last_modified_ms = $7, type = $8, meta = $9, segments = $10, acl = $11, tags = $12,
  storage_class = $13, restore_ready_ms = $14, restore_expires_ms = $15, encryption = $16
  WHERE bucket = $1 AND key = $2`;

/**
 * PutObject's commit as ONE statement, autocommitted: one round trip where a transaction takes six
 * (BEGIN, the row lock, the write, forgetting the intents, recording the replaced blobs, COMMIT).
 * A statement is atomic, so it still commits all of it or nothing: `old` locks the row at the key
 * (FOR UPDATE: a concurrent replace waits for it, and READ COMMITTED re-reads the latest version);
 * `updated` replaces it unless $17 (forbidOverwrite) forbids; `inserted` adds the row when there
 * was none (ON CONFLICT DO NOTHING: when another gateway inserted the key meanwhile, nothing is
 * written and the caller runs the statement again, which then locks and replaces that row); the
 * new blobs' intents ($18) are forgotten and the replaced row's blobs recorded as garbage due at
 * $19, both only when the row was written. A missing bucket fails the insert's foreign key (23503).
 */
const COMMIT_PUT = `WITH old AS (
    SELECT segments FROM objects WHERE bucket = $1 AND key = $2 FOR UPDATE
  ), updated AS (
    ${UPDATE_OBJECT} AND EXISTS (SELECT FROM old) AND NOT $17::boolean RETURNING 1
  ), inserted AS (
    ${INSERT_OBJECT} RETURNING 1
  ), written AS (
    SELECT 1 FROM updated UNION ALL SELECT 1 FROM inserted
  ), forgotten AS (
    DELETE FROM blob_intent WHERE blob_key = ANY($18::text[]) AND EXISTS (SELECT FROM written)
  ), garbage AS (
    INSERT INTO blob_gc (blob_key, due_ms)
    SELECT segment ->> 0, $19 FROM old, json_array_elements(old.segments) AS segment
    WHERE EXISTS (SELECT FROM updated)
    ON CONFLICT (blob_key) DO UPDATE SET due_ms = LEAST(blob_gc.due_ms, EXCLUDED.due_ms)
  )
  SELECT EXISTS (SELECT FROM old) AS existed, EXISTS (SELECT FROM written) AS written`;

function objectParams(row: ObjectRow): unknown[] {
  return [
    row.bucket,
    row.key,
    row.size,
    row.etag,
    row.content_md5,
    row.crc64,
    row.last_modified_ms,
    row.type,
    // pg would send a JS array as a PostgreSQL array literal: json values go as text.
    JSON.stringify(row.meta),
    JSON.stringify(row.segments),
    row.acl,
    JSON.stringify(row.tags),
    row.storage_class,
    row.restore_ready_ms,
    row.restore_expires_ms,
    row.encryption === null ? null : JSON.stringify(row.encryption),
  ];
}

const toTags = (pairs: [string, string][]): ObjectTag[] => pairs.map(([key, value]) => ({ key, value }));
const fromTags = (tags: readonly ObjectTag[]): [string, string][] => tags.map((t) => [t.key, t.value]);
const toSegments = (pairs: [string, number][]): Segment[] => pairs.map(([key, size]) => ({ key, size }));
const fromSegments = (segments: readonly Segment[]): [string, number][] =>
  segments.map((s) => [s.key, s.size]);
const blobKeys = (pairs: [string, number][] | undefined): string[] => (pairs ?? []).map(([key]) => key);

function toStoredObject(row: ObjectRow): StoredObject {
  return objectFromColumns(row, {
    meta: row.meta,
    tags: toTags(row.tags),
    serverSideEncryption: row.encryption?.algorithm,
  });
}

function toObjectRow(
  object: StoredObject,
  segments: readonly Segment[],
  encryption: ObjectEncryption | null,
): ObjectRow {
  return {
    ...objectColumns(object),
    meta: object.meta,
    segments: fromSegments(segments),
    tags: fromTags(object.tags),
    encryption,
  };
}

/**
 * A CopyObject target's row before its place and body: `base` (the source, or onto itself the
 * row as locked) with the request's metadata, tags and time, and the ACL, class and restore
 * copy-rules.ts gives it.
 */
function copiedRow(
  base: ObjectRow,
  copy: {
    ontoItself: boolean;
    bucketRow: BucketRow;
    meta: ObjectMeta | undefined;
    settings: ObjectSettings;
    lastModified: number;
  },
): ObjectRow {
  const { settings } = copy;
  const resolved = copyTarget({
    source: { acl: base.acl, storageClass: base.storage_class },
    ontoItself: copy.ontoItself,
    bucketClass: copy.bucketRow.storage_class,
    settings,
  });
  return {
    ...base,
    meta: copy.meta ?? base.meta,
    last_modified_ms: copy.lastModified,
    acl: resolved.acl,
    tags: settings.tags === undefined ? base.tags : fromTags(settings.tags),
    storage_class: resolved.storageClass,
    restore_ready_ms: resolved.keepsRestore ? base.restore_ready_ms : null,
    restore_expires_ms: resolved.keepsRestore ? base.restore_expires_ms : null,
  };
}

/** A statement that inserts a row referencing `bucket`: a foreign-key violation means it is gone. */
async function intoBucket<T>(bucket: string, statement: Promise<T>): Promise<T> {
  try {
    return await statement;
  } catch (error) {
    if (sqlState(error) === '23503') throw noSuchBucket(bucket);
    throw error;
  }
}

class GatewayStore implements ObjectStore, MultipartStore, HealthCheckedStore {
  readonly #pool: pg.Pool;
  readonly #blobs: BlobStore;
  readonly #ownsBlobs: boolean;
  readonly #writer: BlobWriterContext;
  readonly #crc64: { pool: Crc64Pool; owned: boolean };
  readonly #graceMs: number;
  readonly #now: () => number;
  readonly #sweep: PeriodicSweep | undefined;
  readonly #givenMasterKey: Buffer | undefined;
  /** Bucket rows for the write paths' early check and defaults only (see #bucketRowToWrite). */
  readonly #buckets: BucketCache<WriteBucketRow>;
  #masterKeyLoad: Promise<Buffer> | undefined;
  #closed = false;
  /** Compactions running in this process, by `bucket\0key` (one per object at a time), awaited by close(). */
  readonly #compacting = new Map<string, Promise<unknown>>();
  readonly callbackLog: CallbackLog;

  constructor(pool: pg.Pool, options: GatewayObjectStoreOptions, crc64: { pool: Crc64Pool; owned: boolean }) {
    this.#pool = pool;
    this.#ownsBlobs = options.blobStore === undefined;
    this.#blobs = options.blobStore ?? createS3BlobStore(options.s3);
    this.#crc64 = crc64;
    this.#graceMs = options.gcGraceMs ?? DEFAULT_GC_GRACE_MS;
    this.#now = options.now ?? Date.now;
    this.#givenMasterKey = options.masterKey === undefined ? undefined : checkMasterKey(options.masterKey);
    this.#writer = {
      pool,
      intents: new IntentRecorder(pool, this.#now),
      blobs: this.#blobs,
      now: this.#now,
      segmentBytes: options.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
      keyPrefix: options.blobKeyPrefix ?? '',
      crc64Pool: crc64.pool,
    };
    this.#buckets = new BucketCache({ databaseUrl: options.databaseUrl, now: this.#now });
    this.#buckets.start();
    this.callbackLog = openPgCallbackLog(pool);
    const interval = options.gcIntervalMs ?? DEFAULT_GC_INTERVAL_MS;
    this.#sweep = interval > 0 ? new PeriodicSweep(() => this.sweepGarbage(), interval) : undefined;
  }

  get multipart(): MultipartStore {
    return this;
  }

  /** When blobs a commit drops now may be deleted: after every read that could still want them. */
  #due(): number {
    return this.#now() + this.#graceMs;
  }

  /**
   * Deletes the blobs that are due (dropped more than the grace ago) and the orphans of writes
   * that never committed (intents older than the grace). Runs periodically on its own; safe on
   * every gateway at once. Returns how many blobs it deleted.
   */
  sweepGarbage(): Promise<number> {
    return sweepGarbage({ pool: this.#pool, blobs: this.#blobs, graceMs: this.#graceMs, now: this.#now });
  }

  /**
   * The upload-callback signing key (PEM) every gateway shares: the one in the database, or, the
   * first time, `generate()`'s, stored once (a racing gateway's key loses and is never used).
   */
  async getOrCreateCallbackKey(generate: () => string): Promise<string> {
    const read = async (): Promise<string | undefined> =>
      (await query<{ pem: string }>(this.#pool, 'SELECT pem FROM callback_key WHERE id = 1')).rows[0]?.pem;
    const existing = await read();
    if (existing !== undefined) return existing;
    await query(this.#pool, 'INSERT INTO callback_key (id, pem) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [
      generate(),
    ]);
    const stored = await read();
    if (stored === undefined) throw new Error('the callback key vanished after it was stored');
    return stored;
  }

  /**
   * The master key: the one given, or the one in the database, created by the first gateway that
   * needs it (`ON CONFLICT DO NOTHING`: of racing gateways one key wins and all read it back).
   */
  #masterKey(): Promise<Buffer> {
    if (this.#givenMasterKey !== undefined) return Promise.resolve(this.#givenMasterKey);
    this.#masterKeyLoad ??= (async () => {
      const read = async (): Promise<string | undefined> =>
        (await query<{ key: string }>(this.#pool, 'SELECT key FROM master_key WHERE id = 1')).rows[0]?.key;
      let stored = await read();
      if (stored === undefined) {
        await query(
          this.#pool,
          'INSERT INTO master_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING',
          [randomBytes(32).toString('base64')],
        );
        stored = await read();
      }
      if (stored === undefined) throw new Error('the master key vanished after it was stored');
      return parseMasterKey(stored);
    })();
    // A failed load (database down) is tried again by the next request, not remembered.
    this.#masterKeyLoad.catch(() => (this.#masterKeyLoad = undefined));
    return this.#masterKeyLoad;
  }

  /** A new wrapped data key when `settings` ask for server-side encryption. */
  async #newEncryption(settings: ObjectSettings | undefined): Promise<ObjectEncryption | null> {
    if (settings?.serverSideEncryption === undefined) return null;
    return newObjectEncryption(await this.#masterKey()).record;
  }

  /** The data key of an encrypted row; undefined for a plain one. */
  async #dataKey(encryption: ObjectEncryption | null): Promise<Buffer | undefined> {
    return encryption === null ? undefined : unwrapDataKey(await this.#masterKey(), encryption);
  }

  /**
   * Runs `fn` when no other gateway on this database holds the sweep lock `name` (a session
   * advisory lock on a connection of its own, so it goes with the connection if this process
   * dies); resolves undefined, without running it, when one does.
   */
  async withSweepLock<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw databaseError(error);
    }
    let release: boolean | Error = false;
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked',
        [SWEEP_LOCK_CLASS, name],
      );
      if (!rows[0]?.locked) return undefined;
      try {
        return await fn();
      } finally {
        await client
          .query('SELECT pg_advisory_unlock($1, hashtext($2))', [SWEEP_LOCK_CLASS, name])
          .catch((error: unknown) => {
            // The lock may still be held: the connection must not go back to the pool with it.
            release = error instanceof Error ? error : new Error(String(error));
          });
      }
    } finally {
      client.release(release === false ? undefined : release);
    }
  }

  async #bucketRow(name: string): Promise<BucketRow> {
    const { rows } = await query<BucketRow>(
      this.#pool,
      `SELECT ${BUCKET_COLUMNS} FROM buckets WHERE name = $1`,
      [name],
    );
    if (rows[0] === undefined) throw noSuchBucket(name);
    return rows[0];
  }

  /**
   * The bucket row for a write's early check and its default encryption, from this gateway's
   * cache when it has it. Only for writes whose commit checks the bucket again (the objects'
   * foreign key): a row another gateway has just deleted can then at most let a body be received
   * before NoSuchBucket, and a default encryption changed through another gateway applies from
   * its NOTIFY on, moments after its commit (bucket-cache.ts).
   */
  async #bucketRowToWrite(name: string): Promise<WriteBucketRow> {
    const cached = this.#buckets.get(name);
    if (cached !== undefined) return cached;
    const generation = this.#buckets.generation;
    const { rows } = await query<WriteBucketRow>(
      this.#pool,
      `SELECT ${BUCKET_COLUMNS}, settings -> 'encryption' AS encryption FROM buckets WHERE name = $1`,
      [name],
      'bucket-row-to-write',
    );
    const row = rows[0];
    if (row === undefined) throw noSuchBucket(name);
    this.#buckets.set(name, row, generation);
    return row;
  }

  async #objectRow(bucket: string, key: string): Promise<ObjectRow | undefined> {
    const { rows } = await query<ObjectRow>(
      this.#pool,
      `SELECT ${OBJECT_COLUMNS} FROM objects WHERE bucket = $1 AND key = $2`,
      [bucket, utf8(key)],
      // Prepared: every GET, HEAD and ranged read starts with it.
      'object-row',
    );
    return rows[0];
  }

  /** @throws NoSuchBucket | NoSuchKey */
  async #requireObject(bucket: string, key: string): Promise<ObjectRow> {
    const row = await this.#objectRow(bucket, key);
    if (row) return row;
    await this.#bucketRow(bucket);
    throw noSuchKey(key);
  }

  async #requireUpload(client: pg.ClientBase | pg.Pool, ref: UploadRef, lock = ''): Promise<UploadRow> {
    const { rows } = await client.query<UploadRow>(
      `SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE upload_id = $1 ${lock}`,
      [ref.uploadId],
    );
    const upload = rows[0];
    if (!upload || upload.bucket !== ref.bucket || upload.key.toString('utf8') !== ref.key)
      throw noSuchUpload(ref.uploadId);
    return upload;
  }

  /**
   * Inside a transaction: makes `row` the object at its key, returning the blobs of the object it
   * replaced (none when new). Locks the existing row, or inserts; when another gateway inserted
   * the key since the lock was tried, locks and replaces that row instead.
   * @throws FileAlreadyExists (forbidOverwrite and a row exists) | NoSuchBucket
   */
  async #replaceObject(
    client: pg.ClientBase,
    row: ObjectRow,
    options: OverwriteOptions = {},
  ): Promise<string[]> {
    for (;;) {
      const { rows } = await client.query<{ segments: [string, number][] }>(
        'SELECT segments FROM objects WHERE bucket = $1 AND key = $2 FOR UPDATE',
        [row.bucket, row.key],
      );
      if (rows[0]) {
        checkOverwrite(options, true, row.key.toString('utf8'));
        await client.query(UPDATE_OBJECT, objectParams(row));
        return blobKeys(rows[0].segments);
      }
      const inserted = await intoBucket(row.bucket, client.query(INSERT_OBJECT, objectParams(row)));
      if (inserted.rowCount === 1) return [];
    }
  }

  /**
   * Commits new blobs with `commit` (a transaction that must reference them and returns the blobs
   * it dropped); when it fails, the new blobs are discarded. Forgets their intents in the commit.
   */
  async #commit<T>(
    newBlobs: readonly string[],
    commit: (client: pg.PoolClient) => Promise<{ result: T; dropped: string[] }>,
  ): Promise<T> {
    try {
      return await transaction(this.#pool, async (client) => {
        const { result, dropped } = await commit(client);
        await forgetIntents(client, newBlobs);
        await recordGarbage(client, dropped, this.#due());
        return result;
      });
    } catch (error) {
      await discardUncommitted(this.#pool, this.#blobs, newBlobs);
      throw error;
    }
  }

  /** Runs a `beforeCommit` check; when it refuses, the new blobs are discarded. */
  async #checkOrDiscard<T>(
    newBlobs: readonly string[],
    beforeCommit: ((pending: T) => void | Promise<void>) | undefined,
    pending: () => T,
  ): Promise<void> {
    if (beforeCommit === undefined) return;
    try {
      await beforeCommit(pending());
    } catch (error) {
      await discardUncommitted(this.#pool, this.#blobs, newBlobs);
      throw error;
    }
  }

  // Buckets

  async createBucket(
    name: string,
    acl: BucketAcl,
    storageClass: StorageClass = 'Standard',
  ): Promise<BucketInfo> {
    const createdMs = this.#now();
    const { rowCount } = await query(
      this.#pool,
      `INSERT INTO buckets (${BUCKET_COLUMNS}) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`,
      [name, createdMs, acl, storageClass],
    );
    if (rowCount !== 1) throw bucketAlreadyExists(name);
    return { name, creationDate: new Date(createdMs), acl, storageClass };
  }

  async getBucket(name: string): Promise<BucketInfo> {
    return toBucketInfo(await this.#bucketRow(name));
  }

  async setBucketAcl(name: string, acl: BucketAcl): Promise<void> {
    // Announced to every gateway's bucket cache at the commit (bucket-cache.ts).
    const { rowCount } = await query(
      this.#pool,
      `WITH changed AS (UPDATE buckets SET acl = $1 WHERE name = $2 RETURNING name)
       SELECT pg_notify('${BUCKET_CHANNEL}', name) FROM changed`,
      [acl, name],
    );
    this.#buckets.drop(name);
    if (rowCount !== 1) throw noSuchBucket(name);
  }

  async putBucketSetting<N extends BucketSettingName>(
    bucket: string,
    name: N,
    value: BucketSettings[N] | undefined,
  ): Promise<void> {
    // One statement that sets or removes one key: concurrent puts of other settings are kept.
    // Announced to every gateway's bucket cache at the commit, which keeps the default encryption.
    const change =
      value === undefined ? 'settings - $2::text' : 'settings || jsonb_build_object($2::text, $3::jsonb)';
    const { rowCount } = await query(
      this.#pool,
      `WITH changed AS (UPDATE buckets SET settings = ${change} WHERE name = $1 RETURNING name)
       SELECT pg_notify('${BUCKET_CHANNEL}', name) FROM changed`,
      value === undefined ? [bucket, name] : [bucket, name, JSON.stringify(value)],
    );
    this.#buckets.drop(bucket);
    if (rowCount !== 1) throw noSuchBucket(bucket);
  }

  async getBucketSetting<N extends BucketSettingName>(
    bucket: string,
    name: N,
    use?: 'write',
  ): Promise<BucketSettings[N] | undefined> {
    // A write's default encryption: no query per upload (#bucketRowToWrite's cache).
    if (use === 'write' && name === 'encryption') {
      const { encryption } = await this.#bucketRowToWrite(bucket);
      // A copy: the cached row stays as read.
      return (encryption === null ? undefined : { ...encryption }) as BucketSettings[N] | undefined;
    }
    const { rows } = await query<{ value: BucketSettings[N] | null }>(
      this.#pool,
      'SELECT settings -> $2::text AS value FROM buckets WHERE name = $1',
      [bucket, name],
    );
    if (rows[0] === undefined) throw noSuchBucket(bucket);
    return rows[0].value ?? undefined;
  }

  async listBuckets(): Promise<BucketInfo[]> {
    const { rows } = await query<BucketRow>(
      this.#pool,
      `SELECT ${BUCKET_COLUMNS} FROM buckets ORDER BY name`,
    );
    return rows.map(toBucketInfo);
  }

  async deleteBucket(name: string): Promise<void> {
    let deleted: number | null;
    try {
      // Announced to every gateway's bucket cache at the commit (bucket-cache.ts).
      ({ rowCount: deleted } = await query(
        this.#pool,
        `WITH gone AS (DELETE FROM buckets WHERE name = $1 RETURNING name)
         SELECT pg_notify('${BUCKET_CHANNEL}', name) FROM gone`,
        [name],
      ));
    } catch (error) {
      // Objects or uploads still reference it (the foreign keys decide, whatever gateway wrote them).
      if (sqlState(error) === '23503') throw bucketNotEmpty(name);
      throw error;
    }
    this.#buckets.drop(name);
    if (deleted !== 1) throw noSuchBucket(name);
  }

  // Objects

  async putObject(bucket: string, key: string, body: Readable, options: PutOptions): Promise<StoredObject> {
    // Refused before a byte of the body is read; the commit's foreign key is the authority.
    const bucketRow = await this.#bucketRowToWrite(bucket);
    // Refused before a byte is read or copied; the check in the commit is the one that decides.
    if (options.forbidOverwrite)
      checkOverwrite(options, (await this.#objectRow(bucket, key)) !== undefined, key);
    const encryption = await this.#newEncryption(options.settings);
    const { received, segments } = await writeBody(
      this.#writer,
      body,
      options.maxSize,
      reportingTo(options.onReceived),
      await this.#dataKey(encryption),
      options.size,
    );
    const newBlobs = segments.map((s) => s.key);
    const object: StoredObject = {
      bucket,
      key,
      size: received.size,
      etag: received.etag,
      contentMd5: received.contentMd5,
      crc64: received.crc64,
      lastModified: new Date(this.#now()),
      type: 'Normal',
      meta: options.meta,
      acl: options.settings?.acl ?? 'default',
      tags: options.settings?.tags ?? [],
      storageClass: options.settings?.storageClass ?? bucketRow.storage_class,
    };
    const row = toObjectRow(object, segments, encryption);
    await this.#checkOrDiscard(newBlobs, options.beforeCommit, () => toStoredObject(row));
    await this.#commitPut(row, newBlobs, options);
    return toStoredObject(row);
  }

  /**
   * Makes `row` the object at its key in one statement (COMMIT_PUT), as #commit + #replaceObject
   * would in a transaction; when it fails, the new blobs are discarded.
   * @throws FileAlreadyExists | NoSuchBucket | ServiceUnavailable
   */
  async #commitPut(row: ObjectRow, newBlobs: readonly string[], options: OverwriteOptions): Promise<void> {
    const params = [...objectParams(row), options.forbidOverwrite === true, newBlobs, this.#due()];
    try {
      for (;;) {
        const { rows } = await intoBucket(
          row.bucket,
          query<{ existed: boolean; written: boolean }>(this.#pool, COMMIT_PUT, params, 'upcall_commit_put'),
        );
        if (rows[0]?.written === true) return;
        // Not written: the row exists and may not be overwritten, or another gateway inserted the
        // key since this statement's snapshot; the next run locks and replaces that row.
        if (rows[0]?.existed === true) checkOverwrite(options, true, row.key.toString('utf8'));
      }
    } catch (error) {
      await discardUncommitted(this.#pool, this.#blobs, newBlobs);
      throw error;
    }
  }

  async headObject(bucket: string, key: string): Promise<StoredObject> {
    return toStoredObject(await this.#requireObject(bucket, key));
  }

  async getObject(bucket: string, key: string, range?: ByteRange): Promise<ObjectStream> {
    const row = await this.#requireObject(bucket, key);
    // The blobs stay at least the grace period after any commit drops them: no pin needed.
    const body = await readSegments(
      this.#blobs,
      toSegments(row.segments),
      range ?? { start: 0, end: row.size - 1 },
      await this.#dataKey(row.encryption),
    );
    return { object: toStoredObject(row), body };
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const deleted = await transaction(this.#pool, async (client) => {
      const { rows } = await client.query<{ segments: [string, number][] }>(
        'DELETE FROM objects WHERE bucket = $1 AND key = $2 RETURNING segments',
        [bucket, utf8(key)],
      );
      if (rows[0]) await recordGarbage(client, blobKeys(rows[0].segments), this.#due());
      return rows.length > 0;
    });
    if (!deleted) await this.#bucketRow(bucket);
  }

  async copyObject(
    source: CopySource,
    bucket: string,
    key: string,
    meta?: ObjectMeta,
    settings: ObjectSettings = {},
    options: OverwriteOptions = {},
  ): Promise<StoredObject> {
    const from = await this.#requireObject(source.bucket, source.key);
    const bucketRow = await this.#bucketRow(bucket);
    const lastModified = this.#now();
    const ontoItself = source.bucket === bucket && source.key === key;
    if (ontoItself) checkOverwrite(options, true, key);
    if ((from.encryption !== null) !== (settings.serverSideEncryption !== undefined)) {
      // Into the other encryption: the data is re-encoded, never only copied (object-store.ts).
      if (options.forbidOverwrite)
        checkOverwrite(options, (await this.#objectRow(bucket, key)) !== undefined, key);
      return this.#copyReencoded(from, bucketRow, key, meta, settings, lastModified, options);
    }
    if (ontoItself) {
      // Onto itself: only the metadata, settings and time change, under the row lock, so a
      // replace committed meanwhile keeps its body (and gets these settings).
      return transaction(this.#pool, async (client) => {
        const { rows } = await client.query<ObjectRow>(
          `SELECT ${OBJECT_COLUMNS} FROM objects WHERE bucket = $1 AND key = $2 FOR UPDATE`,
          [bucket, utf8(key)],
        );
        const current = rows[0];
        if (!current) throw noSuchKey(key);
        const row = copiedRow(current, { ontoItself, bucketRow, meta, settings, lastModified });
        await client.query(UPDATE_OBJECT, objectParams(row));
        return toStoredObject(row);
      });
    }
    // Refused before a byte is read or copied; the check in the commit is the one that decides.
    if (options.forbidOverwrite)
      checkOverwrite(options, (await this.#objectRow(bucket, key)) !== undefined, key);
    // Server-side copies under new keys: the copy owns its blobs. A source replaced or deleted
    // meanwhile keeps its blobs for the grace period, so the copy is of one consistent version.
    const segments: Segment[] = [];
    try {
      for (const [sourceKey, size] of from.segments) {
        const target = newBlobKey(this.#writer.keyPrefix);
        await this.#writer.intents.record(target);
        segments.push({ key: target, size });
        await this.#blobs.copy(sourceKey, target);
      }
    } catch (error) {
      await discardUncommitted(
        this.#pool,
        this.#blobs,
        segments.map((s) => s.key),
      );
      throw error;
    }
    // FIDELITY: the copy keeps the source's type, ETag and CRC-64 (as the fs backend does).
    // Encrypted on both sides: the copied blobs keep their IVs, so the row keeps the data key.
    const row: ObjectRow = {
      ...copiedRow(from, { ontoItself, bucketRow, meta, settings, lastModified }),
      bucket,
      key: utf8(key),
      segments: fromSegments(segments),
    };
    await this.#commit(
      segments.map((s) => s.key),
      async (client) => ({ result: undefined, dropped: await this.#replaceObject(client, row, options) }),
    );
    return toStoredObject(row);
  }

  /**
   * CopyObject into the other encryption (or onto itself so): the source's plaintext, read under
   * its data key, written as new blobs under the target's (a new data key, or none).
   */
  async #copyReencoded(
    from: ObjectRow,
    bucketRow: BucketRow,
    key: string,
    meta: ObjectMeta | undefined,
    settings: ObjectSettings,
    lastModified: number,
    options: OverwriteOptions,
  ): Promise<StoredObject> {
    const ontoItself = from.bucket === bucketRow.name && from.key.toString('utf8') === key;
    // A source replaced or deleted meanwhile keeps its blobs for the grace period.
    const plaintext = await readSegments(
      this.#blobs,
      toSegments(from.segments),
      { start: 0, end: from.size - 1 },
      await this.#dataKey(from.encryption),
    );
    const encryption = await this.#newEncryption(settings);
    const { segments } = await writeBody(
      this.#writer,
      plaintext,
      undefined,
      {},
      await this.#dataKey(encryption),
    );
    const row: ObjectRow = {
      ...copiedRow(from, { ontoItself, bucketRow, meta, settings, lastModified }),
      bucket: bucketRow.name,
      key: utf8(key),
      segments: fromSegments(segments),
      encryption,
    };
    await this.#commit(
      segments.map((s) => s.key),
      async (client) => ({ result: undefined, dropped: await this.#replaceObject(client, row, options) }),
    );
    return toStoredObject(row);
  }

  /** One metadata column of an existing object; leaves `lastModified`. @throws NoSuchBucket | NoSuchKey */
  async #setColumns(bucket: string, key: string, set: string, values: unknown[]): Promise<void> {
    const { rowCount } = await query(
      this.#pool,
      `UPDATE objects SET ${set} WHERE bucket = $${values.length + 1} AND key = $${values.length + 2}`,
      [...values, bucket, utf8(key)],
    );
    if (rowCount !== 1) await this.#requireObject(bucket, key);
  }

  async setObjectAcl(bucket: string, key: string, acl: ObjectAcl): Promise<void> {
    await this.#setColumns(bucket, key, 'acl = $1', [acl]);
  }

  async setObjectRestore(bucket: string, key: string, restore: ObjectRestore): Promise<void> {
    await this.#setColumns(bucket, key, 'restore_ready_ms = $1, restore_expires_ms = $2', [
      restore.readyAt.getTime(),
      restore.expiresAt.getTime(),
    ]);
  }

  async setObjectTags(bucket: string, key: string, tags: readonly ObjectTag[]): Promise<void> {
    await this.#setColumns(bucket, key, 'tags = $1', [JSON.stringify(fromTags(tags))]);
  }

  async appendObject(
    bucket: string,
    key: string,
    position: number,
    body: Readable,
    options: PutOptions,
  ): Promise<StoredObject> {
    const bucketRow = await this.#bucketRowToWrite(bucket);
    const settings = { storageClass: bucketRow.storage_class, ...options.settings };
    const before = await this.#objectRow(bucket, key);
    // Refused before the body is read; re-checked under the row lock in the commit.
    checkAppendable(before && toStoredObject(before), position);
    // The object's data key, or (the append that creates it) a new one when asked for.
    const encryption = before ? before.encryption : await this.#newEncryption(options.settings);
    const { received, segments } = await writeBody(
      this.#writer,
      body,
      options.maxSize,
      {},
      await this.#dataKey(encryption),
      options.size,
    );
    const newBlobs = segments.map((s) => s.key);
    const current = await this.#objectRow(bucket, key).catch(() => before);
    await this.#checkOrDiscard(newBlobs, options.beforeCommit, () =>
      appendedObject(bucket, key, current && toStoredObject(current), received, options.meta, settings),
    );
    const row = await this.#commit(newBlobs, async (client) => {
      for (;;) {
        const { rows } = await client.query<ObjectRow>(
          `SELECT ${OBJECT_COLUMNS} FROM objects WHERE bucket = $1 AND key = $2 FOR UPDATE`,
          [bucket, utf8(key)],
        );
        const latest = rows[0] && toStoredObject(rows[0]);
        // Of two appends at the same position, the second to get here sees the first's size.
        checkAppendable(latest, position);
        // Replaced meanwhile by an object of the same size under another data key (or none):
        // this body, encrypted for the one it saw, cannot join it.
        if (rows[0] && rows[0].encryption?.wrappedKey !== encryption?.wrappedKey)
          throw positionNotEqualToLength(rows[0].size);
        const object = appendedObject(bucket, key, latest, received, options.meta, settings);
        const next = toObjectRow(
          object,
          [...toSegments(rows[0]?.segments ?? []), ...segments],
          rows[0] ? rows[0].encryption : encryption,
        );
        if (rows[0]) {
          await client.query(UPDATE_OBJECT, objectParams(next));
          return { result: next, dropped: [] };
        }
        const inserted = await intoBucket(bucket, client.query(INSERT_OBJECT, objectParams(next)));
        if (inserted.rowCount === 1) return { result: next, dropped: [] };
        // Another gateway created the object meanwhile: lock it and check the position again.
      }
    });
    if (row.segments.length > COMPACT_ABOVE_SEGMENTS) this.#compact(row);
    return toStoredObject(row);
  }

  /** Starts compacting an appendable object in the background (append-compaction.ts). */
  #compact(row: ObjectRow): void {
    const id = `${row.bucket}\0${row.key.toString('hex')}`;
    if (this.#closed || this.#compacting.has(id)) return;
    // An encrypted object is compacted under its own data key (new blobs, new IVs).
    const running = this.#dataKey(row.encryption)
      .then((dataKey) =>
        compactSegments(
          this.#writer,
          () => this.#due(),
          row.bucket,
          row.key,
          toSegments(row.segments),
          dataKey,
        ),
      )
      // A failed compaction changes nothing (its blobs are discarded); the next append retries it.
      .catch(() => false)
      .finally(() => this.#compacting.delete(id));
    this.#compacting.set(id, running);
  }

  async listObjects(bucket: string, q: ListQuery): Promise<ListPage> {
    const prefix = utf8(q.prefix ?? '');
    // From the prefix, or just after `after` when that is further on (both bounds in byte order).
    const after = q.after === undefined ? undefined : utf8(q.after);
    const exclusive = after !== undefined && Buffer.compare(after, prefix) >= 0;
    const { rows } = await query<ObjectRow>(
      this.#pool,
      `SELECT ${OBJECT_COLUMNS} FROM objects WHERE bucket = $1 AND key ${exclusive ? '>' : '>='} $2 AND key < $3
       ORDER BY key LIMIT $4`,
      [bucket, exclusive ? after : prefix, prefixEnd(prefix), q.maxKeys + 1],
    );
    // Rows reference their bucket: only an empty page needs the bucket checked.
    if (rows.length === 0) await this.#bucketRow(bucket);
    return {
      objects: rows.slice(0, q.maxKeys).map(toStoredObject),
      isTruncated: rows.length > q.maxKeys,
    };
  }

  /** Readiness (store-health.ts): the metadata database and the engine bucket answer. */
  async checkHealth(): Promise<StoreHealthCheck[]> {
    const check = async (name: string, probe: () => Promise<unknown>): Promise<StoreHealthCheck> => {
      try {
        await probe();
        return { name, ok: true };
      } catch (error) {
        return { name, ok: false, reason: error instanceof Error ? error.message : String(error) };
      }
    };
    return Promise.all([
      check('metadata-database', () => query(this.#pool, 'SELECT 1')),
      check('s3-engine', () => this.#blobs.check()),
    ]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sweep?.stop();
    await Promise.all(this.#compacting.values());
    await this.#buckets.close();
    await this.#pool.end();
    if (this.#ownsBlobs) await this.#blobs.close();
    if (this.#crc64.owned) await this.#crc64.pool.close();
  }

  // MultipartStore

  async initiate(
    bucket: string,
    key: string,
    meta: ObjectMeta,
    settings: ObjectSettings = {},
  ): Promise<UploadInfo> {
    const bucketRow = await this.#bucketRow(bucket);
    const now = this.#now();
    const row: UploadRow = {
      upload_id: newUploadId(now),
      bucket,
      key: utf8(key),
      initiated_ms: now,
      meta,
      acl: settings.acl ?? 'default',
      tags: fromTags(settings.tags ?? []),
      storage_class: settings.storageClass ?? bucketRow.storage_class,
      // The parts are encrypted as they arrive, under the key the completed object will have.
      encryption: await this.#newEncryption(settings),
    };
    await intoBucket(
      bucket,
      query(
        this.#pool,
        `INSERT INTO uploads (${UPLOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          row.upload_id,
          row.bucket,
          row.key,
          row.initiated_ms,
          JSON.stringify(row.meta),
          row.acl,
          JSON.stringify(row.tags),
          row.storage_class,
          row.encryption === null ? null : JSON.stringify(row.encryption),
        ],
      ),
    );
    return toUploadInfo(row);
  }

  async uploadPart(
    ref: UploadRef,
    partNumber: number,
    body: Readable,
    options: PartOptions = {},
  ): Promise<PartRecord> {
    const upload = await this.#requireUpload(this.#pool, ref).catch((error: unknown) => {
      throw databaseError(error);
    });
    const { received, segments } = await writeBody(
      this.#writer,
      body,
      options.maxSize,
      {},
      await this.#dataKey(upload.encryption),
      options.size,
    );
    const newBlobs = segments.map((s) => s.key);
    const row: PartRow = {
      part_number: partNumber,
      segments: fromSegments(segments),
      size: received.size,
      etag: received.etag,
      crc64: received.crc64,
      last_modified_ms: this.#now(),
    };
    await this.#checkOrDiscard(newBlobs, options.beforeCommit, () => toPartRecord(row));
    const params = [
      ref.uploadId,
      partNumber,
      JSON.stringify(row.segments),
      row.size,
      row.etag,
      row.crc64,
      row.last_modified_ms,
    ];
    await this.#commit(newBlobs, async (client) => {
      // The upload may have been completed or aborted while the part streamed in; holding it
      // FOR SHARE keeps a Complete or Abort from starting until this part is in.
      await this.#requireUpload(client, ref, 'FOR SHARE');
      for (;;) {
        const { rows } = await client.query<{ segments: [string, number][] }>(
          'SELECT segments FROM parts WHERE upload_id = $1 AND part_number = $2 FOR UPDATE',
          [ref.uploadId, partNumber],
        );
        if (rows[0]) {
          await client.query(
            `UPDATE parts SET segments = $3, size = $4, etag = $5, crc64 = $6, last_modified_ms = $7
             WHERE upload_id = $1 AND part_number = $2`,
            params,
          );
          // Never read by anyone: the replaced part's blobs may go at once.
          return { result: undefined, dropped: blobKeys(rows[0].segments) };
        }
        const inserted = await client.query(
          `INSERT INTO parts (upload_id, ${PART_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (upload_id, part_number) DO NOTHING`,
          params,
        );
        if (inserted.rowCount === 1) return { result: undefined, dropped: [] };
      }
    });
    return toPartRecord(row);
  }

  async listParts(
    ref: UploadRef,
    after: number,
    maxParts: number,
  ): Promise<{ parts: PartRecord[]; isTruncated: boolean; storageClass: StorageClass }> {
    const upload = await this.#requireUpload(this.#pool, ref).catch((error: unknown) => {
      throw databaseError(error);
    });
    const { rows } = await query<PartRow>(
      this.#pool,
      `SELECT ${PART_COLUMNS} FROM parts WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3`,
      [ref.uploadId, after, maxParts + 1],
    );
    return {
      parts: rows.slice(0, maxParts).map(toPartRecord),
      isTruncated: rows.length > maxParts,
      storageClass: upload.storage_class,
    };
  }

  async complete(
    ref: UploadRef,
    listed: CompletedPart[],
    options: OverwriteOptions = {},
  ): Promise<StoredObject> {
    // Only metadata: the parts' blobs become the object's segments.
    return this.#commit([], async (client) => {
      const upload = await this.#requireUpload(client, ref, 'FOR UPDATE');
      const { rows } = await client.query<PartRow>(`SELECT ${PART_COLUMNS} FROM parts WHERE upload_id = $1`, [
        ref.uploadId,
      ]);
      const stored = new Map<number, PartRow & PartRecord>();
      for (const part of rows) stored.set(part.part_number, { ...part, ...toPartRecord(part) });
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
        lastModified: new Date(this.#now()),
        type: 'Multipart',
        meta: upload.meta,
        acl: upload.acl,
        tags: toTags(upload.tags),
        storageClass: upload.storage_class,
      };
      const row = toObjectRow(
        object,
        parts.flatMap((p) => toSegments(p.segments)),
        upload.encryption,
      );
      const dropped = await this.#replaceObject(client, row, options);
      const used = new Set(parts.map((p) => p.part_number));
      const unused = [...stored.values()].filter((p) => !used.has(p.part_number));
      await recordGarbage(
        client,
        unused.flatMap((p) => blobKeys(p.segments)),
        this.#now(),
      );
      await client.query('DELETE FROM uploads WHERE upload_id = $1', [ref.uploadId]);
      return { result: toStoredObject(row), dropped };
    });
  }

  async abort(ref: UploadRef): Promise<void> {
    await transaction(this.#pool, async (client) => {
      await this.#requireUpload(client, ref, 'FOR UPDATE');
      const { rows } = await client.query<{ segments: [string, number][] }>(
        'DELETE FROM parts WHERE upload_id = $1 RETURNING segments',
        [ref.uploadId],
      );
      // Parts are never read: their blobs may go at the next sweep.
      await recordGarbage(
        client,
        rows.flatMap((r) => blobKeys(r.segments)),
        this.#now(),
      );
      await client.query('DELETE FROM uploads WHERE upload_id = $1', [ref.uploadId]);
    });
  }

  async listUploads(
    bucket: string,
    q: MultipartListQuery,
  ): Promise<{ uploads: UploadInfo[]; isTruncated: boolean }> {
    await this.#bucketRow(bucket);
    const prefix = utf8(q.prefix ?? '');
    const keyMarker = utf8(q.keyMarker ?? '');
    // With a key-marker, uploads of that very key come only after upload-id-marker; without one,
    // none of them do ('\uffff' sorts after every hex upload id). Without a key-marker, all do.
    const uploadIdMarker = q.keyMarker && q.uploadIdMarker ? q.uploadIdMarker : '\uffff';
    const { rows } = await query<UploadRow>(
      this.#pool,
      `SELECT ${UPLOAD_COLUMNS} FROM uploads
       WHERE bucket = $1 AND key >= $2 AND key < $3 AND (key, upload_id) > ($4::bytea, $5::text COLLATE "C")
       ORDER BY key, upload_id LIMIT $6`,
      [bucket, prefix, prefixEnd(prefix), keyMarker, uploadIdMarker, q.maxUploads + 1],
    );
    return {
      uploads: rows.slice(0, q.maxUploads).map(toUploadInfo),
      isTruncated: rows.length > q.maxUploads,
    };
  }
}

/** The gateway store with its capabilities beyond ObjectStore (health, the sweep, the callback key). */
export type GatewayObjectStore = ObjectStore &
  HealthCheckedStore & {
    sweepGarbage(): Promise<number>;
    getOrCreateCallbackKey(generate: () => string): Promise<string>;
    withSweepLock<T>(name: string, fn: () => Promise<T>): Promise<T | undefined>;
  };

/**
 * Connects to the metadata database and migrates it (under the migration advisory lock, so N
 * gateways may start at once). The engine bucket must exist.
 * @throws OssError ServiceUnavailable when the database cannot be reached
 */
export async function createGatewayObjectStore(
  options: GatewayObjectStoreOptions,
): Promise<GatewayObjectStore> {
  const pool = createPgPool(options);
  try {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw databaseError(error);
    }
    // A checked-out pg client has no 'error' listener of the pool's: a database that goes away
    // during the migration would end the process with an unhandled 'error' event. Record it and
    // fail the start instead.
    let lost: Error | undefined;
    const onError = (error: Error): void => {
      lost ??= error;
    };
    client.on('error', onError);
    try {
      await migrate(client);
    } catch (error) {
      // After a lost connection migrate's own clean-up fails with a less telling error; report
      // the loss (ServiceUnavailable, "metadata database").
      throw databaseError(lost ?? error);
    } finally {
      // A healthy connection goes back to the pool, which listens for its errors while idle. A
      // broken one is discarded (release with the error) and keeps onError for any late event.
      if (lost === undefined) client.off('error', onError);
      client.release(lost);
    }
  } catch (error) {
    await pool.end();
    throw error;
  }
  const crc64 = options.crc64Pool
    ? { pool: options.crc64Pool, owned: false }
    : { pool: new Crc64Pool(), owned: true };
  return new GatewayStore(pool, options, crc64);
}
