/**
 * All SQL of the fs backend: the schema and every prepared statement, over better-sqlite3 at
 * `<dataDir>/meta.sqlite`. Rows are the commit point of every write.
 *
 * Keys are stored as BLOBs of their UTF-8 bytes, so the `(bucket, key)` primary key orders them by
 * memcmp, which is Buffer.compare order, which is OSS's UTF-8 byte order; ListObjects is a range
 * scan on that key.
 *
 * Durability: WAL with synchronous=NORMAL. A commit is atomic and survives a process crash at once;
 * an OS crash or power loss may roll back the last commits, but never tears one. Blob files are
 * fsynced before their row commits, so a surviving row always finds its data; and blobs a commit
 * drops are unlinked only after `syncWal()` has made that commit durable, so a rolled-back commit
 * cannot leave a row pointing at an unlinked blob. The price of NORMAL over FULL is bounded loss of
 * the most recent acknowledged writes on power loss; the gain is one fsync less per write, which is
 * the difference between reaching the bare temp-file + fsync + rename baseline or not.
 */
import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { BucketAcl, BucketSettingName, ObjectAcl, ObjectTag, StorageClass } from '../object-store.ts';
import type { BucketColumns, ObjectColumns, PartColumns, UploadColumns } from '../metadata-rows.ts';
import { insufficientStorage, isStorageFull } from './free-space.ts';

export type BucketRow = BucketColumns;

export interface ObjectRow extends ObjectColumns {
  meta: string;
  /** `id:size` pairs joined by `,`: the blobs whose concatenation is the body. */
  segments: string;
  /** JSON `[[key, value], …]` (formatTags). */
  tags: string;
  /** JSON ObjectEncryption (the wrapped data key) when the blobs are encrypted, else null. */
  encryption: string | null;
}

export interface UploadRow extends UploadColumns {
  meta: string;
  /** What the completed object gets (InitiateMultipartUpload's x-oss-object-acl, x-oss-tagging). */
  acl: ObjectAcl;
  tags: string;
  /** JSON ObjectEncryption its parts are encrypted with, null when none. */
  encryption: string | null;
}

export interface PartRow extends PartColumns {
  upload_id: string;
  blob: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS buckets (
  name TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL,
  acl TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (
  bucket TEXT NOT NULL,
  key BLOB NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  content_md5 TEXT,
  crc64 TEXT NOT NULL,
  last_modified_ms INTEGER NOT NULL,
  type TEXT NOT NULL,
  meta TEXT NOT NULL,
  segments TEXT NOT NULL,
  PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
  upload_id TEXT PRIMARY KEY,
  bucket TEXT NOT NULL,
  key BLOB NOT NULL,
  initiated_ms INTEGER NOT NULL,
  meta TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, upload_id);
CREATE TABLE IF NOT EXISTS parts (
  upload_id TEXT NOT NULL,
  part_number INTEGER NOT NULL,
  blob TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  crc64 TEXT NOT NULL,
  last_modified_ms INTEGER NOT NULL,
  PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS durability (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
`;

/**
 * Columns added after the first release, each with a default that is right for rows written
 * before it existed. Applied at open when missing, so an older data dir upgrades in place and a
 * new one gets the same schema. Append only: never change an entry, and remove one only when a
 * step at open carries its data elsewhere and drops it (the bucket setting columns, below).
 */
const ADDED_COLUMNS: readonly { table: string; column: string; definition: string }[] = [
  // Object ACL and tags (issue 20): rows from before had neither, which is `default` and none.
  { table: 'objects', column: 'acl', definition: "TEXT NOT NULL DEFAULT 'default'" },
  { table: 'objects', column: 'tags', definition: "TEXT NOT NULL DEFAULT '[]'" },
  { table: 'uploads', column: 'acl', definition: "TEXT NOT NULL DEFAULT 'default'" },
  { table: 'uploads', column: 'tags', definition: "TEXT NOT NULL DEFAULT '[]'" },
  // Storage classes and restores (issue 20): everything before was Standard and never restored.
  { table: 'buckets', column: 'storage_class', definition: "TEXT NOT NULL DEFAULT 'Standard'" },
  { table: 'objects', column: 'storage_class', definition: "TEXT NOT NULL DEFAULT 'Standard'" },
  { table: 'objects', column: 'restore_ready_ms', definition: 'INTEGER' },
  { table: 'objects', column: 'restore_expires_ms', definition: 'INTEGER' },
  { table: 'uploads', column: 'storage_class', definition: "TEXT NOT NULL DEFAULT 'Standard'" },
  // Server-side encryption (issue 20): nothing before was encrypted.
  { table: 'objects', column: 'encryption', definition: 'TEXT' },
  { table: 'uploads', column: 'encryption', definition: 'TEXT' },
  // Bucket settings (BucketSettings: CORS, lifecycle, default encryption), one JSON object keyed by
  // setting name; buckets from before had none, or have them in the columns below until folded.
  { table: 'buckets', column: 'settings', definition: "TEXT NOT NULL DEFAULT '{}'" },
];

/**
 * The one-column-per-setting layout of earlier releases (`buckets.cors`, issue 19; `.lifecycle`
 * and `.encryption`, issue 20: JSON or NULL), folded into `buckets.settings` and dropped at open.
 */
const FOLDED_SETTING_COLUMNS: readonly BucketSettingName[] = ['cors', 'lifecycle', 'encryption'];

function addMissingColumns(db: Database.Database): void {
  db.transaction(() => {
    for (const { table, column, definition } of ADDED_COLUMNS) {
      const present = db.pragma(`table_info(${table})`) as { name: string }[];
      if (present.some((c) => c.name === column)) continue;
      db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    }
    const present = db.pragma('table_info(buckets)') as { name: string }[];
    for (const column of FOLDED_SETTING_COLUMNS) {
      if (!present.some((c) => c.name === column)) continue;
      db.exec(
        `UPDATE buckets SET settings = json_set(settings, '$.${column}', json(${column})) WHERE ${column} IS NOT NULL`,
      );
      db.exec(`ALTER TABLE buckets DROP COLUMN ${column}`);
    }
  })();
}

const OBJECT_COLUMNS =
  'bucket, key, size, etag, content_md5, crc64, last_modified_ms, type, meta, segments, acl, tags, ' +
  'storage_class, restore_ready_ms, restore_expires_ms, encryption';
const UPLOAD_COLUMNS = 'upload_id, bucket, key, initiated_ms, meta, acl, tags, storage_class, encryption';
const BUCKET_COLUMNS = 'name, created_ms, acl, storage_class';

export class MetaDb {
  readonly db: Database.Database;
  readonly #run: (fn: () => unknown) => unknown;
  /**
   * Buckets by name: read by nearly every request, written rarely, and only by this process (the
   * data-dir lock), so rows are kept after the first read and dropped on every bucket write.
   */
  readonly #buckets = new Map<string, BucketRow>();
  readonly #s: {
    insertBucket: Statement<[string, number, string, string]>;
    getBucket: Statement<[string], BucketRow>;
    listBuckets: Statement<[], BucketRow>;
    setAcl: Statement<[string, string]>;
    getSetting: Statement<[string, string], { value: string | null }>;
    putSetting: Statement<[string, string, string]>;
    deleteSetting: Statement<[string, string]>;
    deleteBucket: Statement<[string]>;
    anyObject: Statement<[string], { one: number }>;
    anyUpload: Statement<[string], { one: number }>;
    getObject: Statement<[string, Buffer], ObjectRow>;
    getSegments: Statement<[string, Buffer], { segments: string }>;
    upsertObject: Statement<
      [
        string,
        Buffer,
        number,
        string,
        string | null,
        string,
        number,
        string,
        string,
        string,
        string,
        string,
        string,
        number | null,
        number | null,
        string | null,
      ]
    >;
    updateObjectMeta: Statement<
      [string, number, string, string, string, number | null, number | null, string, Buffer]
    >;
    setObjectRestore: Statement<[number, number, string, Buffer]>;
    setObjectAcl: Statement<[string, string, Buffer]>;
    setObjectTags: Statement<[string, string, Buffer]>;
    deleteObject: Statement<[string, Buffer]>;
    scanFrom: Statement<[string, Buffer, Buffer, number], ObjectRow>;
    scanAfter: Statement<[string, Buffer, Buffer, number], ObjectRow>;
    insertUpload: Statement<[string, string, Buffer, number, string, string, string, string, string | null]>;
    getUpload: Statement<[string], UploadRow>;
    deleteUpload: Statement<[string]>;
    listUploads: Statement<[string, Buffer, Buffer, Buffer, Buffer, string, number], UploadRow>;
    getPart: Statement<[string, number], PartRow>;
    upsertPart: Statement<[string, number, string, number, string, string, number]>;
    listParts: Statement<[string, number, number], PartRow>;
    allParts: Statement<[string], PartRow>;
    deleteParts: Statement<[string]>;
    allSegments: Statement<[], { segments: string }>;
    allPartBlobs: Statement<[], { blob: string }>;
    touch: Statement<[]>;
  };

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    addMissingColumns(this.db);
    this.db.prepare('INSERT OR IGNORE INTO durability (id, n) VALUES (1, 0)').run();
    this.#run = this.db.transaction((fn: () => unknown) => fn());
    const p = <P extends unknown[], R = unknown>(sql: string) => this.db.prepare<P, R>(sql);
    this.#s = {
      insertBucket: p(`INSERT INTO buckets (${BUCKET_COLUMNS}) VALUES (?, ?, ?, ?)`),
      getBucket: p(`SELECT ${BUCKET_COLUMNS} FROM buckets WHERE name = ?`),
      listBuckets: p(`SELECT ${BUCKET_COLUMNS} FROM buckets ORDER BY CAST(name AS BLOB)`),
      setAcl: p('UPDATE buckets SET acl = ? WHERE name = ?'),
      // The path is `$."<name>"`: a name is a BucketSettingName, but quoted it can be any string.
      getSetting: p(`SELECT json_extract(settings, '$."' || ? || '"') AS value FROM buckets WHERE name = ?`),
      putSetting: p(
        `UPDATE buckets SET settings = json_set(settings, '$."' || ? || '"', json(?)) WHERE name = ?`,
      ),
      deleteSetting: p(
        `UPDATE buckets SET settings = json_remove(settings, '$."' || ? || '"') WHERE name = ?`,
      ),
      deleteBucket: p('DELETE FROM buckets WHERE name = ?'),
      anyObject: p('SELECT 1 AS one FROM objects WHERE bucket = ? LIMIT 1'),
      anyUpload: p('SELECT 1 AS one FROM uploads WHERE bucket = ? LIMIT 1'),
      getObject: p(`SELECT ${OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ?`),
      getSegments: p('SELECT segments FROM objects WHERE bucket = ? AND key = ?'),
      upsertObject: p(
        `INSERT OR REPLACE INTO objects (${OBJECT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateObjectMeta: p(
        `UPDATE objects SET meta = ?, last_modified_ms = ?, acl = ?, tags = ?, storage_class = ?,
         restore_ready_ms = ?, restore_expires_ms = ? WHERE bucket = ? AND key = ?`,
      ),
      setObjectRestore: p(
        'UPDATE objects SET restore_ready_ms = ?, restore_expires_ms = ? WHERE bucket = ? AND key = ?',
      ),
      setObjectAcl: p('UPDATE objects SET acl = ? WHERE bucket = ? AND key = ?'),
      setObjectTags: p('UPDATE objects SET tags = ? WHERE bucket = ? AND key = ?'),
      deleteObject: p('DELETE FROM objects WHERE bucket = ? AND key = ?'),
      scanFrom: p(
        `SELECT ${OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?`,
      ),
      scanAfter: p(
        `SELECT ${OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key > ? AND key < ? ORDER BY key LIMIT ?`,
      ),
      insertUpload: p(`INSERT INTO uploads (${UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      getUpload: p(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ?`),
      deleteUpload: p('DELETE FROM uploads WHERE upload_id = ?'),
      listUploads: p(
        `SELECT ${UPLOAD_COLUMNS} FROM uploads
         WHERE bucket = ? AND key >= ? AND key < ? AND (key > ? OR (key = ? AND upload_id > ?))
         ORDER BY key, upload_id LIMIT ?`,
      ),
      getPart: p(
        'SELECT upload_id, part_number, blob, size, etag, crc64, last_modified_ms FROM parts WHERE upload_id = ? AND part_number = ?',
      ),
      upsertPart: p(
        `INSERT OR REPLACE INTO parts (upload_id, part_number, blob, size, etag, crc64, last_modified_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      listParts: p(
        `SELECT upload_id, part_number, blob, size, etag, crc64, last_modified_ms FROM parts
         WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?`,
      ),
      allParts: p(
        'SELECT upload_id, part_number, blob, size, etag, crc64, last_modified_ms FROM parts WHERE upload_id = ?',
      ),
      deleteParts: p('DELETE FROM parts WHERE upload_id = ?'),
      allSegments: p('SELECT segments FROM objects'),
      allPartBlobs: p('SELECT blob FROM parts'),
      touch: p('UPDATE durability SET n = n + 1 WHERE id = 1'),
    };
  }

  /**
   * Runs `fn` in one transaction: all of it commits, or (it throws) none of it.
   * @throws InsufficientStorage when the disk is full (SQLITE_FULL), as a client error, not a 500
   */
  transaction<T>(fn: () => T): T {
    try {
      return this.#run(fn) as T;
    } catch (error) {
      // A rolled-back transaction may have read its own uncommitted bucket writes.
      this.#buckets.clear();
      throw isStorageFull(error) ? insufficientStorage(error) : error;
    }
  }

  insertBucket(name: string, createdMs: number, acl: BucketAcl, storageClass: StorageClass): boolean {
    this.#buckets.delete(name);
    try {
      this.#s.insertBucket.run(name, createdMs, acl, storageClass);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return false;
      throw error;
    }
  }
  getBucket(name: string): BucketRow | undefined {
    let row = this.#buckets.get(name);
    if (row === undefined) {
      row = this.#s.getBucket.get(name);
      if (row !== undefined) this.#buckets.set(name, row);
    }
    return row;
  }
  listBuckets(): BucketRow[] {
    return this.#s.listBuckets.all();
  }
  setAcl(name: string, acl: BucketAcl): boolean {
    this.#buckets.delete(name);
    return this.#s.setAcl.run(acl, name).changes > 0;
  }
  /** The bucket's setting `name` as stored (JSON), null when none; undefined: no such bucket. */
  getSetting(bucket: string, name: BucketSettingName): string | null | undefined {
    return this.#s.getSetting.get(name, bucket)?.value;
  }
  /** Replaces (JSON) or, with null, removes the bucket's setting `name`. @returns false when the bucket does not exist */
  putSetting(bucket: string, name: BucketSettingName, json: string | null): boolean {
    const run =
      json === null ? this.#s.deleteSetting.run(name, bucket) : this.#s.putSetting.run(name, json, bucket);
    return run.changes > 0;
  }
  deleteBucket(name: string): void {
    this.#buckets.delete(name);
    this.#s.deleteBucket.run(name);
  }
  bucketHasObjects(name: string): boolean {
    return this.#s.anyObject.get(name) !== undefined;
  }
  bucketHasUploads(name: string): boolean {
    return this.#s.anyUpload.get(name) !== undefined;
  }

  getObject(bucket: string, key: Buffer): ObjectRow | undefined {
    return this.#s.getObject.get(bucket, key);
  }
  getSegments(bucket: string, key: Buffer): string | undefined {
    return this.#s.getSegments.get(bucket, key)?.segments;
  }
  upsertObject(row: ObjectRow): void {
    this.#s.upsertObject.run(
      row.bucket,
      row.key,
      row.size,
      row.etag,
      row.content_md5,
      row.crc64,
      row.last_modified_ms,
      row.type,
      row.meta,
      row.segments,
      row.acl,
      row.tags,
      row.storage_class,
      row.restore_ready_ms,
      row.restore_expires_ms,
      row.encryption,
    );
  }
  /** Copy onto itself: new metadata, time, ACL, tags, class and restore; same data. */
  updateObjectMeta(row: ObjectRow): void {
    this.#s.updateObjectMeta.run(
      row.meta,
      row.last_modified_ms,
      row.acl,
      row.tags,
      row.storage_class,
      row.restore_ready_ms,
      row.restore_expires_ms,
      row.bucket,
      row.key,
    );
  }
  /** False when there is no such object. */
  setObjectRestore(bucket: string, key: Buffer, readyMs: number, expiresMs: number): boolean {
    return this.#s.setObjectRestore.run(readyMs, expiresMs, bucket, key).changes > 0;
  }
  /** False when there is no such object. */
  setObjectAcl(bucket: string, key: Buffer, acl: ObjectAcl): boolean {
    return this.#s.setObjectAcl.run(acl, bucket, key).changes > 0;
  }
  /** False when there is no such object. */
  setObjectTags(bucket: string, key: Buffer, tags: string): boolean {
    return this.#s.setObjectTags.run(tags, bucket, key).changes > 0;
  }
  deleteObject(bucket: string, key: Buffer): void {
    this.#s.deleteObject.run(bucket, key);
  }
  /** Up to `limit` objects with `from <= key < end` (or `from < key` when `exclusive`), in key order. */
  scan(bucket: string, from: Buffer, exclusive: boolean, end: Buffer, limit: number): ObjectRow[] {
    return (exclusive ? this.#s.scanAfter : this.#s.scanFrom).all(bucket, from, end, limit);
  }

  insertUpload(row: UploadRow): void {
    this.#s.insertUpload.run(
      row.upload_id,
      row.bucket,
      row.key,
      row.initiated_ms,
      row.meta,
      row.acl,
      row.tags,
      row.storage_class,
      row.encryption,
    );
  }
  getUpload(uploadId: string): UploadRow | undefined {
    return this.#s.getUpload.get(uploadId);
  }
  deleteUpload(uploadId: string): void {
    this.#s.deleteParts.run(uploadId);
    this.#s.deleteUpload.run(uploadId);
  }
  /** Uploads with `from <= key < end` that come after (keyMarker, uploadIdMarker), by key then id. */
  listUploads(
    bucket: string,
    from: Buffer,
    end: Buffer,
    keyMarker: Buffer,
    uploadIdMarker: string,
    limit: number,
  ): UploadRow[] {
    return this.#s.listUploads.all(bucket, from, end, keyMarker, keyMarker, uploadIdMarker, limit);
  }
  getPart(uploadId: string, partNumber: number): PartRow | undefined {
    return this.#s.getPart.get(uploadId, partNumber);
  }
  upsertPart(row: PartRow): void {
    this.#s.upsertPart.run(
      row.upload_id,
      row.part_number,
      row.blob,
      row.size,
      row.etag,
      row.crc64,
      row.last_modified_ms,
    );
  }
  listParts(uploadId: string, after: number, limit: number): PartRow[] {
    return this.#s.listParts.all(uploadId, after, limit);
  }
  allParts(uploadId: string): PartRow[] {
    return this.#s.allParts.all(uploadId);
  }

  /** Every blob id some row references (the orphan sweep's keep-list). */
  referencedBlobs(): Set<string> {
    const ids = new Set<string>();
    for (const { segments } of this.#s.allSegments.iterate())
      for (const s of parseSegments(segments)) ids.add(s.id);
    for (const { blob } of this.#s.allPartBlobs.iterate()) ids.add(blob);
    return ids;
  }

  /** Makes every commit so far durable: a write transaction with synchronous=FULL syncs the WAL. */
  syncWal(): void {
    this.db.pragma('synchronous = FULL');
    try {
      this.#s.touch.run();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /** False once close() has run: a store closed twice does nothing the second time. */
  get isOpen(): boolean {
    return this.db.open;
  }

  close(): void {
    this.db.close();
  }
}

/** Tags as stored in the `tags` columns: JSON pairs, so any key or value round-trips. */
export function formatTags(tags: readonly ObjectTag[]): string {
  return JSON.stringify(tags.map((tag) => [tag.key, tag.value]));
}

export function parseTags(text: string): ObjectTag[] {
  return (JSON.parse(text) as [string, string][]).map(([key, value]) => ({ key, value }));
}

export function formatSegments(segments: readonly { id: string; size: number }[]): string {
  return segments.map((s) => `${s.id}:${s.size}`).join(',');
}

export function parseSegments(text: string): { id: string; size: number }[] {
  if (text === '') return [];
  return text.split(',').map((pair) => {
    const at = pair.indexOf(':');
    return { id: pair.slice(0, at), size: Number(pair.slice(at + 1)) };
  });
}
