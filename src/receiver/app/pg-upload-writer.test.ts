// The receiver's PostgreSQL writer commits the callback path's writes in groups (one statement
// for the uploads that arrive while earlier ones are at the database). Each write must still
// settle on its own: its id once committed, with its vars, hook jobs (and their graphile-worker
// jobs) and reply, and its own error when it alone is bad, e.g. a second delivery.
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testServices, type TestDatabase } from '../../../test/helpers/services.ts';
import { createUploadRepository, PG_RECORD_BYTES } from './kysely-upload-repository.ts';
import { createPgHookJobQueue } from './pg-hook-job-queue.ts';
import { INT8_AS_NUMBER, openPgReceiverStore } from './pg-receiver-store.ts';
import { createPgUploadWriter, HOOK_TASK } from './pg-upload-writer.ts';
import { UPLOAD_COLUMNS, type ReceiverSchema } from './sqlite-receiver-schema.ts';
import type { NewUploadRecord } from './upload-record.ts';

const services = testServices();

function record(object: string, overrides: Partial<NewUploadRecord> = {}): NewUploadRecord {
  return {
    receivedAt: 1_700_000_000_000,
    verified: true,
    bodyFormat: 'form',
    fields: { object },
    vars: { 'x:n': object, 'x:m': `m-${object}` },
    object,
    target: '/callback',
    requestId: `REQ-${object}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `sig-${object}` },
    rawBody: Buffer.from(`object=${object}`),
    ...overrides,
  };
}

describe.skipIf(!services)('the PostgreSQL writer under concurrent callback writes', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let db: Kysely<ReceiverSchema>;
  /** Statements sent by this pool: each `pool.query` takes a client. */
  let acquired = 0;

  beforeAll(async () => {
    database = await createTestDatabase(services!.pgUrl, 'pgwriter');
    // Opening the store migrates the receiver's tables and graphile-worker's schema.
    const store = await openPgReceiverStore(database.url);
    await store.close();
    pool = new pg.Pool({ connectionString: database.url, types: INT8_AS_NUMBER });
    pool.on('acquire', () => acquired++);
    db = new Kysely<ReceiverSchema>({ dialect: new PostgresDialect({ pool }) });
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  const repository = () =>
    createUploadRepository(db, createPgUploadWriter(pool, UPLOAD_COLUMNS), PG_RECORD_BYTES);

  it('records many same-turn uploads in a few statements, each with its own id, vars, jobs and reply', async () => {
    const uploads = repository();
    const jobs = createPgHookJobQueue(db);
    const names = Array.from({ length: 40 }, (_, i) => `k${i}`);
    const before = acquired;
    const ids = await Promise.all(names.map((n) => uploads.insert(record(n), ['thumb', 'index'])));
    // One statement per upload took 40 clients; a group takes one (two while one is out).
    expect(acquired - before).toBeLessThanOrEqual(3);
    expect(new Set(ids).size).toBe(names.length);
    const beforeReplies = acquired;
    await Promise.all(ids.map((id, i) => uploads.setReply(id, { n: names[i]! }, i)));
    expect(acquired - beforeReplies).toBeLessThanOrEqual(3);
    for (const [i, id] of ids.entries()) {
      expect(await uploads.get(id)).toMatchObject({
        object: names[i],
        vars: { 'x:n': names[i], 'x:m': `m-${names[i]}` },
        reply: { n: names[i] },
        latencyMs: i,
      });
      expect((await jobs.jobsFor(id)).map((j) => j.hook).sort()).toEqual(['index', 'thumb']);
    }
    const page = await uploads.list({ vars: [{ name: 'x:n', value: 'k7' }] });
    expect(page.uploads.map((u) => u.id)).toEqual([ids[7]]);
    // Every hooks_jobs row was handed to graphile-worker in the same statement.
    const queued = await pool.query<{ n: string }>(
      `select count(*) as n from graphile_worker._private_jobs j join graphile_worker._private_tasks t
         on t.id = j.task_id where t.identifier = $1`,
      [HOOK_TASK],
    );
    expect(Number(queued.rows[0]!.n)).toBe(names.length * 2);
  });

  it('rejects only the bad writes of a group; a second delivery fails alone and the others are stored', async () => {
    const uploads = repository();
    const jobs = createPgHookJobQueue(db);
    const results = await Promise.allSettled([
      uploads.insert(record('before'), ['hook']),
      uploads.insert(record('twice'), ['hook']),
      uploads.insert(record('twice'), ['hook']),
      uploads.insert(record('bad', { receivedAt: Number.NaN }), ['hook']),
      uploads.insert(record('after'), ['hook']),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: '23505' });
    const stored = await db
      .selectFrom('uploads')
      .select('object')
      .where('object', 'in', ['before', 'twice', 'bad', 'after'])
      .execute();
    expect(stored.map((r) => r.object).sort()).toEqual(['after', 'before', 'twice']);
    for (const r of results) {
      if (r.status === 'fulfilled') expect(await jobs.jobsFor(r.value)).toHaveLength(1);
    }
  });

  it('writes the default reply in the row with its record, once: one row version, in the transaction of its vars', async () => {
    const uploads = repository();
    const asked: number[] = [];
    const replyOf = (id: number) => {
      asked.push(id);
      return { reply: { id, ok: true }, latencyMs: 2.5 };
    };
    const results = await Promise.allSettled([
      uploads.insertWithReply!(record('r1'), ['hook'], replyOf),
      uploads.insertWithReply!(record('r2'), [], replyOf),
      // A second delivery in the same group: the group is retried one write at a time, and each
      // upload keeps the reply it was given (replyOf is asked once per upload).
      uploads.insertWithReply!(record('r2'), [], replyOf),
      uploads.insertWithReply!(record('r3'), ['hook'], replyOf),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const ids = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const id of ids) {
      expect(await uploads.get(id)).toMatchObject({ reply: { id, ok: true }, latencyMs: 2.5 });
      expect(asked.filter((a) => a === id)).toHaveLength(1);
    }
    // A reply recorded by a later UPDATE leaves the row's current version from another
    // transaction than its vars: readers could list the record without its reply in between.
    const versions = await pool.query<{ id: number; row: string; vars: string }>(
      `select u.id, u.xmin::text as row, v.xmin::text as vars
         from uploads u join upload_vars v on v.upload_id = u.id where u.id = any($1::bigint[])`,
      [ids],
    );
    expect(versions.rows).toHaveLength(ids.length * 2);
    for (const v of versions.rows) expect(v.row).toBe(v.vars);
  });

  it('binds a group as one JSON parameter and records what it carries as the typed columns did', async () => {
    // One connection, so the statements it prepares are the ones listed below.
    const single = new pg.Pool({ connectionString: database.url, types: INT8_AS_NUMBER, max: 1 });
    try {
      const uploads = createUploadRepository(
        db,
        createPgUploadWriter(single, UPLOAD_COLUMNS),
        PG_RECORD_BYTES,
      );
      const body = Buffer.from([0, 1, 0xfe, 0xff, 0x5c, 0x22]);
      const ids = await Promise.all([
        uploads.insert(record('json-a', { rawBody: body, size: 2 ** 40 }), []),
        // A JSON callback body can carry a lone UTF-16 surrogate ("\ud800"); PostgreSQL's JSON
        // has no text for one, so it is recorded as U+FFFD, as `pg` encoded it before.
        uploads.insert(record('json-b', { vars: { 'x:n': 'a\ud800b', 'x:q': '"\\' } }), ['hook']),
      ]);
      expect(await uploads.get(ids[0])).toMatchObject({ rawBody: new Uint8Array(body), size: 2 ** 40 });
      // (The record's own vars_json keeps it as the JSON escape it is.)
      expect(await uploads.get(ids[1])).toMatchObject({ vars: { 'x:n': 'a\ud800b', 'x:q': '"\\' } });
      const vars = await single.query<{ value: string }>(
        'select "value" from "upload_vars" where "upload_id" = $1 order by "name"',
        [ids[1]],
      );
      expect(vars.rows.map((r) => r.value)).toEqual(['a\ufffdb', '"\\']);
      // 25 typed arrays had `pg` escape every element in JavaScript and PostgreSQL parse 25 array
      // literals per group; one JSON text is serialised natively and parsed in C.
      const prepared = await single.query<{ name: string; types: string }>(
        `select "name", parameter_types::text as "types" from pg_prepared_statements where "name" like 'upcall_insert_uploads%'`,
      );
      expect(prepared.rows.length).toBeGreaterThan(0);
      for (const row of prepared.rows) expect(row.types).toBe('{json,integer}');
    } finally {
      await single.end();
    }
  });

  it("takes the next group's ids in each insert: one statement per group while busy, fresh ids after a pause", async () => {
    const uploads = repository();
    const group = (tag: string) =>
      Promise.all(Array.from({ length: 6 }, (_, i) => uploads.insert(record(`${tag}-${i}`), [])));
    await group('warm');
    const before = acquired;
    const busy = [...(await group('b1')), ...(await group('b2')), ...(await group('b3'))];
    expect(acquired - before).toBe(3);
    expect(new Set(busy).size).toBe(busy.length);
    // Ids taken ahead are not used once stale: a record made after another instance's gets the
    // larger id, as it would straight from the sequence.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const otherInstance = await repository().insert(record('other-instance'), []);
    const later = await uploads.insert(record('later'), []);
    expect(later).toBeGreaterThan(otherInstance);
  });
});
