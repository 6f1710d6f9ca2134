/**
 * The receiver's SQLite schema: the table types Kysely checks queries against, the column list the
 * callback-path writer binds by name, and the migration that creates or upgrades a database in
 * place. Invariant: `migrate` is idempotent and only adds (tables, columns, indexes) or swaps an
 * index for a cheaper one, so any older `receiver.sqlite` opens without losing a record.
 */
import { sql, type Generated, type Kysely } from 'kysely';

export interface UploadsTable {
  id: Generated<number>;
  received_at: number;
  verified: number;
  reject_reason: string | null;
  template_issued: number;
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
  /** UploadRecord.latencyMs, written with the reply. */
  latency_ms: number | null;
  /**
   * The Authorization value of a verified callback: with request_id, what makes a delivery unique
   * (a redelivery of the same callback carries the same signature: it covers path, query and body
   * only, and RSA PKCS#1 v1.5 is deterministic). Null for refused callbacks and older rows.
   */
  signature: string | null;
}

export interface UploadVarsTable {
  upload_id: number;
  name: string;
  value: string;
}

export interface HookJobsTable {
  id: Generated<number>;
  upload_id: number;
  hook: string;
  state: string;
  attempts: number;
  next_run_at: number;
  last_error: string | null;
  updated_at: number;
}

export interface ReceiverSchema {
  uploads: UploadsTable;
  upload_vars: UploadVarsTable;
  hook_jobs: HookJobsTable;
}

// Every column but `id`, checked complete against the table type (the writer binds them by name).
export const UPLOAD_COLUMNS = Object.keys({
  received_at: true,
  verified: true,
  reject_reason: true,
  template_issued: true,
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
  latency_ms: true,
  signature: true,
} satisfies Record<keyof Omit<UploadsTable, 'id'>, true>);

export async function migrate(db: Kysely<ReceiverSchema>): Promise<void> {
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
    .addColumn('template_issued', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('latency_ms', 'real')
    .execute();
  // Databases made before body excerpts lack the column; their rows hold whole bodies (null).
  const columns = await sql<{ name: string }>`pragma table_info("uploads")`.execute(db);
  if (!columns.rows.some((c) => c.name === 'body_size')) {
    await sql`alter table "uploads" add column "body_size" integer`.execute(db);
  }
  // Pruning refused records (verified = 0) walks this index from the newest. Partial: a verified
  // callback, the hot insert, never enters it (issue 17). It replaces the (verified, id) index
  // older databases have, which every insert paid for.
  await sql`drop index if exists "uploads_verified_id"`.execute(db);
  await sql`create index if not exists "uploads_refused_id" on "uploads" ("id") where "verified" = 0`.execute(
    db,
  );
  // Databases made before issue 14 lack the column: their records predate issued templates.
  if (!columns.rows.some((c) => c.name === 'template_issued')) {
    await sql`alter table uploads add column template_issued integer not null default 0`.execute(db);
  }
  // Databases made before issue 19 lack the column: their records' latencies were never kept.
  if (!columns.rows.some((c) => c.name === 'latency_ms')) {
    await sql`alter table uploads add column latency_ms real`.execute(db);
  }
  // Deduplication of redelivered callbacks (issue 18): one record per (request id, signature).
  if (!columns.rows.some((c) => c.name === 'signature')) {
    await sql`alter table "uploads" add column "signature" text`.execute(db);
  }
  await sql`create unique index if not exists "uploads_delivery" on "uploads" ("request_id", "signature")
    where "request_id" is not null and "signature" is not null`.execute(db);
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
