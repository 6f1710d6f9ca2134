/**
 * The receiver app's SQLite storage: upload records, their `x:` variables and the hook-job queue,
 * through Kysely over better-sqlite3 (WAL), so the same queries can later run on PostgreSQL
 * (DESIGN.md "SQL layer"); the callback path's fixed writes go through `sqlite-upload-writer.ts`
 * instead (prepared once, committed in groups). Invariant: an upload and its hook jobs are
 * written in one transaction, so a stored upload never lacks the jobs that must follow it.
 *
 * This file opens and wires; each concept has its own file: the schema and migration
 * (`sqlite-receiver-schema.ts`), the statement cache (`sqlite-statement-cache.ts`), the upload
 * repository (`kysely-upload-repository.ts`, shared with PostgreSQL) and the hook-job queue (`sqlite-hook-job-queue.ts`).
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { checkSqliteFile, type ReceiverHealthCheck } from './sqlite-health.ts';
import { createHookJobQueue } from './sqlite-hook-job-queue.ts';
import { migrate, UPLOAD_COLUMNS, type ReceiverSchema } from './sqlite-receiver-schema.ts';
import { withStatementCache } from './sqlite-statement-cache.ts';
import { createUploadRepository, SQLITE_RECORD_BYTES } from './kysely-upload-repository.ts';
import { createUploadWriter } from './sqlite-upload-writer.ts';
import type { HookJobQueue, UploadRepository } from './upload-repository.ts';

export interface SqliteReceiverStore {
  uploads: UploadRepository;
  jobs: HookJobQueue;
  /** Readiness: the database answers and is still the file it opened (sqlite-health.ts). */
  checkHealth(): Promise<ReceiverHealthCheck[]>;
  close(): Promise<void>;
}

/** Opens (creating if needed) `<dataDir>/receiver.sqlite`. */
export async function openSqliteReceiverStore(dataDir: string): Promise<SqliteReceiverStore> {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'receiver.sqlite');
  const database = new Database(path);
  const opened = statSync(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<ReceiverSchema>({
    dialect: new SqliteDialect({ database: withStatementCache(database) }),
  });
  await migrate(db);
  const writer = createUploadWriter(database, UPLOAD_COLUMNS);
  return {
    uploads: createUploadRepository(db, writer, SQLITE_RECORD_BYTES),
    jobs: createHookJobQueue(db),
    checkHealth: async () => [await checkSqliteFile(database, path, opened)],
    close: () => {
      writer.flush();
      return db.destroy();
    },
  };
}
