/**
 * The receiver's tables on PostgreSQL: the same tables, columns and indexes as SQLite
 * (`sqlite-receiver-schema.ts`, whose table types Kysely checks both against), with the three type
 * changes PostgreSQL needs (../shared/services/README.md "SQLite → PostgreSQL", receiver table):
 * identity columns instead of autoIncrement, `bytea` instead of `blob`, and `bigint` for Unix-ms
 * times (an `integer` overflows; the store reads int8 back as a number, exact below 2^53). One
 * departure: `upload_vars` and `hook_jobs` have no foreign key to `uploads` (below).
 *
 * Invariant: `migrate` runs under a session advisory lock, so N receiver instances starting at
 * once on one database migrate it once, in turn; it is idempotent, and only adds, swaps an index
 * for a cheaper one or drops a foreign key, so an older database keeps every record.
 */
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { ReceiverSchema } from './sqlite-receiver-schema.ts';

/** The advisory lock key receiver migrations hold (any constant: it names "receiver schema"). */
export const RECEIVER_MIGRATION_LOCK = 0x75706361_6c6c0017n; // 'upcall' + issue 17

/** Runs `work` holding the migration lock on a connection of its own (waits for other instances). */
export async function withMigrationLock<T>(pool: pg.Pool, work: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [RECEIVER_MIGRATION_LOCK.toString()]);
    try {
      return await work();
    } finally {
      await client.query('select pg_advisory_unlock($1)', [RECEIVER_MIGRATION_LOCK.toString()]);
    }
  } finally {
    client.release();
  }
}

export async function migratePg(db: Kysely<ReceiverSchema>): Promise<void> {
  await db.schema
    .createTable('uploads')
    .ifNotExists()
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('verified', 'integer', (c) => c.notNull())
    .addColumn('reject_reason', 'text')
    .addColumn('bucket', 'text')
    .addColumn('object', 'text')
    .addColumn('etag', 'text')
    .addColumn('size', 'bigint')
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
    .addColumn('raw_body', 'bytea', (c) => c.notNull())
    .addColumn('body_size', 'bigint')
    .addColumn('reply_json', 'text')
    .addColumn('template_issued', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('latency_ms', 'double precision')
    .addColumn('signature', 'text')
    .execute();
  // Each callback once across every instance (issue 17): the second delivery's insert fails on
  // this index (SQLSTATE 23505), even while the first one's transaction is still open (it waits).
  await sql`create unique index if not exists "uploads_delivery" on "uploads" ("request_id", "signature")
    where "request_id" is not null and "signature" is not null`.execute(db);
  // Pruning refused records (verified = 0) walks this index from the newest. Partial, as on
  // SQLite: a verified callback, the hot insert, never enters it. It replaces the (verified, id)
  // index older databases have, which every insert paid for (bench/findings.md). Made before the
  // old one goes, so the prune never lacks one.
  await sql`create index if not exists "uploads_refused_id" on "uploads" ("id") where "verified" = 0`.execute(
    db,
  );
  await sql`drop index if exists "uploads_verified_id"`.execute(db);
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
    .addColumn('upload_id', 'bigint', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('upload_vars_name_value')
    .ifNotExists()
    .on('upload_vars')
    .columns(['name', 'value', 'upload_id'])
    .execute();
  // The prune's delete of a pruned refused record's vars and jobs would scan the table without
  // these (and the API's var filters read the first).
  await db.schema
    .createIndex('upload_vars_upload_id')
    .ifNotExists()
    .on('upload_vars')
    .column('upload_id')
    .execute();
  await db.schema
    .createTable('hook_jobs')
    .ifNotExists()
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('upload_id', 'bigint', (c) => c.notNull())
    .addColumn('hook', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_run_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('hook_jobs_due')
    .ifNotExists()
    .on('hook_jobs')
    .columns(['state', 'next_run_at'])
    .execute();
  await db.schema
    .createIndex('hook_jobs_upload_id')
    .ifNotExists()
    .on('hook_jobs')
    .column('upload_id')
    .execute();
  // No foreign keys from vars and jobs to their upload: PostgreSQL checked each with a trigger
  // that locked the upload row (one more query and WAL record per var and per job: 12 % of the
  // backend's time per callback, bench/findings.md). What they guarded holds by construction:
  // vars and jobs are inserted only in their upload's own statement (`pg-upload-writer.ts`), and
  // the only delete of uploads, the prune of refused records, deletes their vars and jobs in the
  // same statement. Older databases have the constraints; they go here, only where present: the
  // ALTER locks both tables against readers too, which every start should not do.
  const { rows: foreignKeys } = await sql<{ table: string; name: string }>`
    select (select relname from pg_class where oid = conrelid) as "table", conname as "name" from pg_constraint
    where contype = 'f' and confrelid = '"uploads"'::regclass
      and conrelid in ('"upload_vars"'::regclass, '"hook_jobs"'::regclass)`.execute(db);
  for (const { table, name } of foreignKeys) {
    await sql`alter table ${sql.id(table)} drop constraint ${sql.id(name)}`.execute(db);
  }
}
