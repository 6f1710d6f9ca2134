/**
 * The receiver app's SQLite storage: upload records, their `x:` variables and the hook-job queue,
 * through Kysely over better-sqlite3 (WAL), so the same queries can later run on PostgreSQL
 * (DESIGN.md "SQL layer"); the callback path's fixed writes go through `sqlite-upload-writer.ts`
 * instead (prepared once, committed in groups). Invariant: an upload and its hook jobs are
 * written in one transaction, so a stored upload never lacks the jobs that must follow it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type Generated, type Selectable, type SqliteDatabase } from 'kysely';
import type { CallbackBodyFormat, CallbackFieldValue } from '../callback-body.ts';
import type { JsonValue } from '../callback-reply.ts';
import type { CallbackVerificationReason } from '../callback-verification-error.ts';
import type { NewUploadRecord, UploadPage, UploadQuery, UploadRecord } from './upload-record.ts';
import { createUploadWriter, type UploadWriter } from './sqlite-upload-writer.ts';
import {
  LIST_BODY_EXCERPT_BYTES,
  type HookJob,
  type HookJobQueue,
  type HookJobState,
  type UploadRepository,
} from './upload-repository.ts';

interface UploadsTable {
  id: Generated<number>;
  received_at: number;
  verified: number;
  reject_reason: string | null;
  bucket: string | null;
  object: string | null;
  etag: string | null;
  size: number | null;
  mime_type: string | null;
  image_height: number | null;
  image_width: number | null;
  image_format: string | null;
  vars_json: string;
  fields_json: string;
  body_format: string;
  client_ip: string | null;
  request_id: string | null;
  key_url: string | null;
  target: string;
  headers_json: string;
  raw_body: Buffer;
  /** The body's size as received when raw_body holds only its start (refused callbacks). */
  body_size: number | null;
  reply_json: string | null;
  /**
   * The Authorization value of a verified callback: with request_id, what makes a delivery unique
   * (a redelivery of the same callback carries the same signature: it covers path, query and body
   * only, and RSA PKCS#1 v1.5 is deterministic). Null for refused callbacks and older rows.
   */
  signature: string | null;
}

interface UploadVarsTable {
  upload_id: number;
  name: string;
  value: string;
}

interface HookJobsTable {
  id: Generated<number>;
  upload_id: number;
  hook: string;
  state: string;
  attempts: number;
  next_run_at: number;
  last_error: string | null;
  updated_at: number;
}

interface ReceiverSchema {
  uploads: UploadsTable;
  upload_vars: UploadVarsTable;
  hook_jobs: HookJobsTable;
}

export interface SqliteReceiverStore {
  uploads: UploadRepository;
  jobs: HookJobQueue;
  close(): Promise<void>;
}

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 50;
/** The default budget of a list page (UploadQuery.maxBytes). */
const DEFAULT_PAGE_BYTES = 4 * 1024 * 1024;

/** Opens (creating if needed) `<dataDir>/receiver.sqlite`. */
export async function openSqliteReceiverStore(dataDir: string): Promise<SqliteReceiverStore> {
  mkdirSync(dataDir, { recursive: true });
  const database = new Database(join(dataDir, 'receiver.sqlite'));
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<ReceiverSchema>({
    dialect: new SqliteDialect({ database: withStatementCache(database) }),
  });
  await migrate(db);
  const writer = createUploadWriter(database, UPLOAD_COLUMNS);
  return {
    uploads: createUploadRepository(db, writer),
    jobs: createHookJobQueue(db),
    close: () => {
      writer.flush();
      return db.destroy();
    },
  };
}

// Every column but `id`, checked complete against the table type (the writer binds them by name).
const UPLOAD_COLUMNS = Object.keys({
  received_at: true,
  verified: true,
  reject_reason: true,
  bucket: true,
  object: true,
  etag: true,
  size: true,
  mime_type: true,
  image_height: true,
  image_width: true,
  image_format: true,
  vars_json: true,
  fields_json: true,
  body_format: true,
  client_ip: true,
  request_id: true,
  key_url: true,
  target: true,
  headers_json: true,
  raw_body: true,
  body_size: true,
  reply_json: true,
  signature: true,
} satisfies Record<keyof Omit<UploadsTable, 'id'>, true>);

/** Every column but the body, which a list page selects cut to its excerpt. */
const LISTED_COLUMNS = [
  'id',
  ...UPLOAD_COLUMNS.filter((c) => c !== 'raw_body' && c !== 'body_size'),
] as (keyof UploadsTable)[];

/**
 * Kysely's SQLite driver prepares every query anew; compiling the SQL cost more than running
 * the insert (bench/findings.md). Statements are reused per SQL text, a bounded number of them
 * (list filters make the SQL vary).
 */
function withStatementCache(database: Database.Database, max = 128): SqliteDatabase {
  const statements = new Map<string, Database.Statement>();
  return {
    close: () => database.close(),
    prepare(text) {
      let statement = statements.get(text);
      if (statement === undefined) {
        statement = database.prepare(text);
        statements.set(text, statement);
        if (statements.size > max) statements.delete(statements.keys().next().value!);
      }
      return statement;
    },
  };
}

async function migrate(db: Kysely<ReceiverSchema>): Promise<void> {
  await db.schema
    .createTable('uploads')
    .ifNotExists()
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('received_at', 'integer', (c) => c.notNull())
    .addColumn('verified', 'integer', (c) => c.notNull())
    .addColumn('reject_reason', 'text')
    .addColumn('bucket', 'text')
    .addColumn('object', 'text')
    .addColumn('etag', 'text')
    .addColumn('size', 'integer')
    .addColumn('mime_type', 'text')
    .addColumn('image_height', 'integer')
    .addColumn('image_width', 'integer')
    .addColumn('image_format', 'text')
    .addColumn('vars_json', 'text', (c) => c.notNull())
    .addColumn('fields_json', 'text', (c) => c.notNull())
    .addColumn('body_format', 'text', (c) => c.notNull())
    .addColumn('client_ip', 'text')
    .addColumn('request_id', 'text')
    .addColumn('key_url', 'text')
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('headers_json', 'text', (c) => c.notNull())
    .addColumn('raw_body', 'blob', (c) => c.notNull())
    .addColumn('body_size', 'integer')
    .addColumn('reply_json', 'text')
    .execute();
  // Databases made before body excerpts lack the column; their rows hold whole bodies (null).
  const columns = await sql<{ name: string }>`pragma table_info("uploads")`.execute(db);
  if (!columns.rows.some((c) => c.name === 'body_size')) {
    await sql`alter table "uploads" add column "body_size" integer`.execute(db);
  }
  // Deduplication of redelivered callbacks (issue 18): one record per (request id, signature).
  if (!columns.rows.some((c) => c.name === 'signature')) {
    await sql`alter table "uploads" add column "signature" text`.execute(db);
  }
  await sql`create unique index if not exists "uploads_delivery" on "uploads" ("request_id", "signature")
    where "request_id" is not null and "signature" is not null`.execute(db);
  // Pruning refused records (verified = 0) walks this index from the newest.
  await db.schema
    .createIndex('uploads_verified_id')
    .ifNotExists()
    .on('uploads')
    .columns(['verified', 'id'])
    .execute();
  await db.schema
    .createIndex('uploads_bucket_object')
    .ifNotExists()
    .on('uploads')
    .columns(['bucket', 'object'])
    .execute();
  await db.schema
    .createIndex('uploads_received_at')
    .ifNotExists()
    .on('uploads')
    .column('received_at')
    .execute();
  await db.schema
    .createTable('upload_vars')
    .ifNotExists()
    .addColumn('upload_id', 'integer', (c) => c.notNull().references('uploads.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('upload_vars_name_value')
    .ifNotExists()
    .on('upload_vars')
    .columns(['name', 'value', 'upload_id'])
    .execute();
  await db.schema
    .createTable('hook_jobs')
    .ifNotExists()
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('upload_id', 'integer', (c) => c.notNull().references('uploads.id').onDelete('cascade'))
    .addColumn('hook', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_run_at', 'integer', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('updated_at', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('hook_jobs_due')
    .ifNotExists()
    .on('hook_jobs')
    .columns(['state', 'next_run_at'])
    .execute();
}

function createUploadRepository(db: Kysely<ReceiverSchema>, writer: UploadWriter): UploadRepository {
  return {
    // The callback path's writes go through the group-committing writer (sqlite-upload-writer.ts).
    insert: (record, hookNames) =>
      writer.insert({ row: toRow(record), vars: record.vars, hookNames, receivedAt: record.receivedAt }),

    setReply: (id, reply) => writer.setReply(id, JSON.stringify(reply)),

    async findDelivery(requestId, signature) {
      const row = await db
        .selectFrom('uploads')
        .selectAll()
        .where('request_id', '=', requestId)
        .where('signature', '=', signature)
        .executeTakeFirst();
      return row && fromRow(row);
    },

    async get(id) {
      const row = await db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
      return row && fromRow(row);
    },

    async list(query: UploadQuery): Promise<UploadPage> {
      const limit = Math.min(Math.max(Math.trunc(query.limit ?? DEFAULT_PAGE), 1), MAX_PAGE);
      const budget = query.maxBytes ?? DEFAULT_PAGE_BYTES;
      let q = db.selectFrom('uploads');
      if (query.bucket !== undefined) q = q.where('bucket', '=', query.bucket);
      if (query.prefix !== undefined && query.prefix !== '') {
        // substr() rather than LIKE: keys may contain % and _, and LIKE is case-insensitive.
        q = q.where(sql<boolean>`substr(object, 1, ${query.prefix.length}) = ${query.prefix}`);
      }
      if (query.mimeType !== undefined) q = q.where('mime_type', '=', query.mimeType);
      if (query.verified !== undefined) q = q.where('verified', '=', query.verified ? 1 : 0);
      if (query.since !== undefined) q = q.where('received_at', '>=', query.since);
      if (query.until !== undefined) q = q.where('received_at', '<', query.until);
      for (const v of query.vars ?? []) {
        q = q.where((eb) =>
          eb.exists(
            eb
              .selectFrom('upload_vars')
              .select('upload_vars.upload_id')
              .whereRef('upload_vars.upload_id', '=', 'uploads.id')
              .where('upload_vars.name', '=', v.name)
              .$if(v.value !== undefined, (sub) => sub.where('upload_vars.value', '=', v.value!)),
          ),
        );
      }
      if (query.cursor !== undefined) q = q.where('id', '<', decodeCursor(query.cursor));
      // Two steps, so a page never loads more than its budget: first the matching ids with the
      // size each record would add (computed by SQLite, nothing copied out), then only the rows
      // that fit, with bodies cut to the excerpt. Junk records once made a single page 117 MB.
      const sizes = await q
        .select([
          'id',
          sql<number>`length(cast(vars_json as blob)) + length(cast(fields_json as blob)) + length(cast(headers_json as blob)) + length(cast(target as blob)) + coalesce(length(cast(reply_json as blob)), 0) + min(length(raw_body), ${LIST_BODY_EXCERPT_BYTES}) * 3`.as(
            'bytes',
          ),
        ])
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      const ids: number[] = [];
      let total = 0;
      for (const row of sizes.slice(0, limit)) {
        if (ids.length > 0 && total + row.bytes > budget) break;
        ids.push(row.id);
        total += row.bytes;
      }
      if (ids.length === 0) return { uploads: [] };
      const rows = await db
        .selectFrom('uploads')
        .select(LISTED_COLUMNS)
        .select([
          sql<Buffer>`substr(raw_body, 1, ${LIST_BODY_EXCERPT_BYTES})`.as('raw_body'),
          sql<number>`coalesce(body_size, length(raw_body))`.as('body_size'),
        ])
        .where('id', 'in', ids)
        .orderBy('id', 'desc')
        .execute();
      const page: UploadPage = { uploads: rows.map(fromRow) };
      if (sizes.length > ids.length) page.nextCursor = encodeCursor(ids.at(-1)!);
      return page;
    },

    async pruneRefused(keep) {
      if (keep >= 1) await writer.pruneRefused(keep);
    },
  };
}

function encodeCursor(id: number): string {
  return Buffer.from(`id:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const match = /^id:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new RangeError('The cursor is not one this server issued.');
  return Number(match[1]);
}

function toRow(record: NewUploadRecord): Omit<UploadsTable, 'id'> {
  return {
    received_at: record.receivedAt,
    verified: record.verified ? 1 : 0,
    reject_reason: record.rejectReason ?? null,
    bucket: record.bucket ?? null,
    object: record.object ?? null,
    etag: record.etag ?? null,
    size: record.size ?? null,
    mime_type: record.mimeType ?? null,
    image_height: record.imageInfo?.height ?? null,
    image_width: record.imageInfo?.width ?? null,
    image_format: record.imageInfo?.format ?? null,
    vars_json: JSON.stringify(record.vars),
    fields_json: JSON.stringify(record.fields),
    body_format: record.bodyFormat,
    client_ip: record.clientIp ?? null,
    request_id: record.requestId ?? null,
    key_url: record.keyUrl ?? null,
    target: record.target,
    headers_json: JSON.stringify(record.headers),
    raw_body: Buffer.from(record.rawBody.buffer, record.rawBody.byteOffset, record.rawBody.byteLength),
    body_size: record.bodySize ?? null,
    reply_json: null,
    signature:
      record.verified && record.requestId !== undefined ? (record.headers['authorization'] ?? null) : null,
  };
}

function fromRow(row: Selectable<UploadsTable>): UploadRecord {
  const record: UploadRecord = {
    id: row.id,
    receivedAt: row.received_at,
    verified: row.verified === 1,
    vars: JSON.parse(row.vars_json) as Record<string, string>,
    fields: JSON.parse(row.fields_json) as Record<string, CallbackFieldValue>,
    bodyFormat: row.body_format as CallbackBodyFormat,
    target: row.target,
    headers: JSON.parse(row.headers_json) as Record<string, string>,
    rawBody: new Uint8Array(row.raw_body),
  };
  if (row.reject_reason !== null) record.rejectReason = row.reject_reason as CallbackVerificationReason;
  if (row.bucket !== null) record.bucket = row.bucket;
  if (row.object !== null) record.object = row.object;
  if (row.etag !== null) record.etag = row.etag;
  if (row.size !== null) record.size = row.size;
  if (row.mime_type !== null) record.mimeType = row.mime_type;
  if (row.image_height !== null || row.image_width !== null || row.image_format !== null) {
    record.imageInfo = {};
    if (row.image_height !== null) record.imageInfo.height = row.image_height;
    if (row.image_width !== null) record.imageInfo.width = row.image_width;
    if (row.image_format !== null) record.imageInfo.format = row.image_format;
  }
  if (row.client_ip !== null) record.clientIp = row.client_ip;
  if (row.request_id !== null) record.requestId = row.request_id;
  if (row.key_url !== null) record.keyUrl = row.key_url;
  if (row.reply_json !== null) record.reply = JSON.parse(row.reply_json) as JsonValue;
  if (row.body_size !== null && row.body_size !== row.raw_body.length) record.bodySize = row.body_size;
  return record;
}

function createHookJobQueue(db: Kysely<ReceiverSchema>): HookJobQueue {
  const toJob = (row: Selectable<HookJobsTable>): HookJob => {
    const job: HookJob = {
      id: row.id,
      uploadId: row.upload_id,
      hook: row.hook,
      state: row.state as HookJobState,
      attempts: row.attempts,
      nextRunAt: row.next_run_at,
      updatedAt: row.updated_at,
    };
    if (row.last_error !== null) job.lastError = row.last_error;
    return job;
  };
  return {
    async claim(now) {
      // One statement picks and marks the job, so two workers on one database cannot both run it.
      const row = await db
        .updateTable('hook_jobs')
        .set((eb) => ({ state: 'running', attempts: eb('attempts', '+', 1), updated_at: now }))
        .where(
          'id',
          '=',
          db
            .selectFrom('hook_jobs')
            .select('id')
            .where('state', '=', 'pending')
            .where('next_run_at', '<=', now)
            .orderBy('next_run_at')
            .orderBy('id')
            .limit(1),
        )
        .where('state', '=', 'pending')
        .returningAll()
        .executeTakeFirst();
      return row && toJob(row);
    },
    async complete(id, now) {
      await db
        .updateTable('hook_jobs')
        .set({ state: 'done', last_error: null, updated_at: now })
        .where('id', '=', id)
        .execute();
    },
    async fail(id, error, now, retryAt) {
      await db
        .updateTable('hook_jobs')
        .set({
          state: retryAt === undefined ? 'failed' : 'pending',
          last_error: error,
          updated_at: now,
          ...(retryAt === undefined ? {} : { next_run_at: retryAt }),
        })
        .where('id', '=', id)
        .execute();
    },
    async requeueRunning(now) {
      const result = await db
        .updateTable('hook_jobs')
        .set({ state: 'pending', next_run_at: now, updated_at: now })
        .where('state', '=', 'running')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async jobsFor(uploadId) {
      const rows = await db
        .selectFrom('hook_jobs')
        .selectAll()
        .where('upload_id', '=', uploadId)
        .orderBy('id')
        .execute();
      return rows.map(toJob);
    },
  };
}
