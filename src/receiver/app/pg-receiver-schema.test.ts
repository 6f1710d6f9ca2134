// The receiver's PostgreSQL schema and its upgrade: a database made by an older receiver (the full
// (verified, id) index, foreign keys from vars and jobs to their upload) is migrated in place under
// the advisory lock, by several instances starting at once, and keeps every record; the prune of
// refused records then still takes their vars and jobs with them.
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testServices, type TestDatabase } from '../../../test/helpers/services.ts';
import { INT8_AS_NUMBER, openPgReceiverStore } from './pg-receiver-store.ts';
import type { ReceiverSchema } from './sqlite-receiver-schema.ts';
import type { NewUploadRecord } from './upload-record.ts';

const services = testServices();

function record(object: string, verified: boolean): NewUploadRecord {
  return {
    receivedAt: 1_700_000_000_000,
    verified,
    ...(verified ? {} : { rejectReason: 'signature-mismatch' as const }),
    bodyFormat: 'form',
    fields: { object },
    vars: { 'x:n': object },
    object,
    target: '/callback',
    requestId: `REQ-${object}`,
    headers: { authorization: `sig-${object}` },
    rawBody: Buffer.from(`object=${object}`),
  };
}

describe.skipIf(!services)('the receiver schema on PostgreSQL', () => {
  let database: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    database = await createTestDatabase(services!.pgUrl, 'pgschema');
    pool = new pg.Pool({ connectionString: database.url, types: INT8_AS_NUMBER });
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  const schemaFacts = async () => {
    const fks = await pool.query<{ name: string }>(
      `select conname as "name" from pg_constraint where contype = 'f'
         and conrelid in ('upload_vars'::regclass, 'hook_jobs'::regclass) order by 1`,
    );
    const indexes = await pool.query<{ name: string; def: string }>(
      `select indexname as "name", indexdef as "def" from pg_indexes where tablename = 'uploads' order by 1`,
    );
    return {
      fks: fks.rows.map((r) => r.name),
      indexes: Object.fromEntries(indexes.rows.map((r) => [r.name, r.def])),
    };
  };

  it('indexes refused records only, and has no per-row foreign-key checks on the hot insert', async () => {
    const store = await openPgReceiverStore(database.url);
    await store.close();
    const { fks, indexes } = await schemaFacts();
    expect(fks).toEqual([]);
    expect(indexes['uploads_verified_id']).toBeUndefined();
    expect(indexes['uploads_refused_id']).toMatch(/\(id\) WHERE \(verified = 0\)$/);
  });

  it('migrates an older database in place, once across instances starting together, keeping its records', async () => {
    const writer = await openPgReceiverStore(database.url);
    const oldIds: number[] = [];
    for (const name of ['old-1', 'old-2', 'old-3'])
      oldIds.push(await writer.uploads.insert(record(name, false), []));
    oldIds.push(await writer.uploads.insert(record('old-ok', true), ['hook']));
    await writer.close();
    // Back to the older shape, records and all: a (verified, id) index every insert paid for,
    // and foreign keys that cascade.
    await pool.query(`drop index "uploads_refused_id"`);
    await pool.query(`create index "uploads_verified_id" on "uploads" ("verified", "id")`);
    for (const table of ['upload_vars', 'hook_jobs']) {
      await pool.query(
        `alter table "${table}" add constraint "${table}_upload_id_fkey" foreign key ("upload_id") references "uploads" ("id") on delete cascade`,
      );
    }
    expect((await schemaFacts()).fks).toEqual(['hook_jobs_upload_id_fkey', 'upload_vars_upload_id_fkey']);

    const stores = await Promise.all([openPgReceiverStore(database.url), openPgReceiverStore(database.url)]);
    try {
      const { fks, indexes } = await schemaFacts();
      expect(fks).toEqual([]);
      expect(indexes['uploads_verified_id']).toBeUndefined();
      expect(indexes['uploads_refused_id']).toBeDefined();
      for (const [i, id] of oldIds.entries()) {
        expect(await stores[i % 2]!.uploads.get(id)).toMatchObject({
          id,
          vars: { 'x:n': expect.any(String) },
        });
      }
      const fresh = await stores[0].uploads.insert(record('new-refused', false), []);
      // Pruning to the newest refused record takes the older ones' vars with them, without a
      // cascade to do it; the verified record and its job stay.
      await stores[1].uploads.pruneRefused!(1);
      const db = new Kysely<ReceiverSchema>({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url }) }),
      });
      try {
        const left = await db.selectFrom('uploads').select('id').orderBy('id').execute();
        expect(left.map((r) => Number(r.id))).toEqual([oldIds[3], fresh]);
        const vars = await db.selectFrom('upload_vars').select('upload_id').orderBy('upload_id').execute();
        expect(vars.map((r) => Number(r.upload_id))).toEqual([oldIds[3], fresh]);
        const jobs = await db.selectFrom('hook_jobs').select('upload_id').execute();
        expect(jobs.map((r) => Number(r.upload_id))).toEqual([oldIds[3]]);
      } finally {
        await db.destroy();
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
