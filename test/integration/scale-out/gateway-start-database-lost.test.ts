/**
 * A gateway whose PostgreSQL goes away while it migrates the schema at start-up: the start fails
 * with a clear error (ServiceUnavailable, "metadata database") instead of an unhandled 'error'
 * event from the migration connection crashing the process. The migration is held at its advisory
 * lock by a second session, so the database stops exactly while the start waits on it. A private
 * cluster (private-postgres.ts); the shared one is never stopped.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayObjectStore } from '../../../src/store/gateway/gateway-object-store.ts';
import { MIGRATION_LOCK } from '../../../src/store/gateway/pg-schema.ts';
import {
  privatePostgresAvailable,
  startPrivatePostgres,
  type PrivatePostgres,
} from '../../helpers/private-postgres.ts';

const available = privatePostgresAvailable();
if (!available && process.env['UPCALL_REQUIRE_SERVICES'] === '1') {
  throw new Error('this test needs PostgreSQL 15 binaries in /usr/lib/postgresql/15/bin');
}

let database: PrivatePostgres;

beforeAll(async () => {
  if (available) database = await startPrivatePostgres();
}, 60_000);
afterAll(async () => {
  await database?.close();
});

describe.skipIf(!available)('gateway start-up when PostgreSQL goes away during the migration', () => {
  it('rejects with ServiceUnavailable and does not crash', async () => {
    const holder = new pg.Client({ connectionString: database.url });
    // The stop below ends this session too; its error is expected.
    holder.on('error', () => {});
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);

    const start = createGatewayObjectStore({
      databaseUrl: database.url,
      // Never reached: the start stops at the database.
      s3: {
        endpoint: 'http://127.0.0.1:1',
        bucket: 'unused',
        region: 'us-east-1',
        accessKeyId: 'unused',
        secretAccessKey: 'unused',
        pathStyle: true,
      },
      gcIntervalMs: 0,
    });
    const outcome = start.then(
      () => undefined,
      (error: unknown) => error,
    );
    // Let the migration connect and block on the lock, then take the database away.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await database.stop();

    const error = await outcome;
    expect(error).toBeInstanceOf(Error);
    expect((error as { code?: unknown }).code).toBe('ServiceUnavailable');
    expect((error as Error).message).toContain('metadata database');
    // Give a late 'error' event from the dropped connection time to surface (it would fail the run).
    await new Promise((resolve) => setTimeout(resolve, 300));
  }, 60_000);
});
