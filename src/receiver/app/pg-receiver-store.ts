/**
 * The receiver app's PostgreSQL storage, for N receiver instances on one database (issue 17):
 * upload records, their `x:` variables and the hook-job rows through the same Kysely repository
 * as SQLite (`kysely-upload-repository.ts`), the callback path's writes in one transaction per
 * upload that also enqueues its hook jobs (`pg-upload-writer.ts`), and the jobs run by
 * graphile-worker (`pg-hook-runner.ts`).
 *
 * This file opens and wires: a pool that reads int8 as a number (Unix-ms times and ids, exact
 * below 2^53), the migrations of the receiver's tables and of graphile-worker's schema under one
 * advisory lock (`pg-receiver-schema.ts`), and readiness.
 */
import { Logger, runMigrations } from 'graphile-worker';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { HookWorker, StoreHookRunnerOptions } from './hook-worker.ts';
import { createUploadRepository, PG_RECORD_BYTES } from './kysely-upload-repository.ts';
import { createPgHookJobQueue } from './pg-hook-job-queue.ts';
import { startPgHookRunner } from './pg-hook-runner.ts';
import { migratePg, withMigrationLock } from './pg-receiver-schema.ts';
import { createPgUploadWriter } from './pg-upload-writer.ts';
import type { ReceiverHealthCheck } from './sqlite-health.ts';
import { UPLOAD_COLUMNS, type ReceiverSchema } from './sqlite-receiver-schema.ts';
import type { HookJobQueue, UploadRepository } from './upload-repository.ts';

const INT8_OID = 20;
/** graphile-worker logs to the console by default; its migration has nothing to say here. */
const SILENT = new Logger(() => () => undefined);

/** Type parsers that read int8 (ids, Unix-ms times) as a number. */
export const INT8_AS_NUMBER = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
};

export interface PgReceiverStore {
  uploads: UploadRepository;
  jobs: HookJobQueue;
  checkHealth(): Promise<ReceiverHealthCheck[]>;
  /** Starts this instance's graphile-worker runner (pg-hook-runner.ts). */
  startHookRunner(options: StoreHookRunnerOptions): Promise<HookWorker>;
  close(): Promise<void>;
}

/** Opens the receiver's tables in the database at `connectionString`, creating them if needed. */
export async function openPgReceiverStore(connectionString: string): Promise<PgReceiverStore> {
  const pool = new pg.Pool({
    connectionString,
    // A database that does not answer fails the callback within OSS's 5 s, rather than hanging it.
    connectionTimeoutMillis: 2000,
    types: INT8_AS_NUMBER,
  });
  // An idle connection cut by a database restart must not take the process down; the next
  // query opens a new one.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<ReceiverSchema>({ dialect: new PostgresDialect({ pool }) });
  try {
    await withMigrationLock(pool, async () => {
      await migratePg(db);
      // graphile-worker's schema with it, on a pool of its own (it reads its ids as strings).
      const workerPool = new pg.Pool({ connectionString, max: 1 });
      workerPool.on('error', () => undefined);
      workerPool.on('connect', (client) => client.on('error', () => undefined));
      try {
        await runMigrations({ pgPool: workerPool, logger: SILENT });
      } finally {
        await workerPool.end();
      }
    });
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const jobs = createPgHookJobQueue(db);
  const uploads = createUploadRepository(db, createPgUploadWriter(pool, UPLOAD_COLUMNS), PG_RECORD_BYTES);
  return {
    uploads,
    jobs,
    async checkHealth() {
      const name = 'receiver-database';
      try {
        await pool.query('select 1 from "uploads" limit 1');
        return [{ name, ok: true }];
      } catch (error) {
        return [{ name, ok: false, reason: `the receiver database fails a read: ${String(error)}` }];
      }
    },
    startHookRunner: (options) => startPgHookRunner({ ...options, connectionString, queue: jobs }),
    close: () => db.destroy(),
  };
}
