// The gateway's callback log pruned by count on PostgreSQL: exact although identity values have
// gaps (a rolled-back batch and an ON CONFLICT insert each spend some), reading only the rows it
// drops however long the log, and counting the entries a database from before the row count
// (schema version 3) already held.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallbackLog, CallbackLogWrite } from '../../src/store/callback-log.ts';
import { openPgCallbackLog } from '../../src/store/gateway/pg-callback-log.ts';
import { createPgPool } from '../../src/store/gateway/pg-pool.ts';
import { migrate } from '../../src/store/gateway/pg-schema.ts';
import { createTestDatabase, testServices, type TestDatabase } from '../helpers/services.ts';

const services = testServices();

const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);
const id = (n: number): string => `REQ${String(n).padStart(21, '0')}`;
const entry = (n: number, key = `k/${n}.jpg`): CallbackLogWrite => ({
  kind: 'first',
  entry: {
    requestId: id(n),
    bucket: 'photos',
    key,
    operation: 'PutObject',
    request: {
      urls: ['http://a.example/cb'],
      bodyType: 'text/plain',
      sni: false,
      body: Buffer.from('object=k'),
    },
  },
  delivery: { at: new Date(T0 + n), ok: true, message: '', latencyMs: 1, attempts: [], redelivery: false },
});
const keep = { maxAgeMs: 1e12 };

/** Rows of the log, oldest first, as `seq`, request id. */
async function rows(client: pg.Client): Promise<[number, string][]> {
  const { rows: all } = await client.query<{ seq: string; request_id: string }>(
    'SELECT seq, request_id FROM callback_log ORDER BY seq',
  );
  return all.map((row) => [Number(row.seq), row.request_id]);
}

/**
 * Entries of callback_log and its indexes that scans have read so far (pg_stat_user_tables and
 * _indexes). A backend publishes its counts when it goes idle, at most once a second unless told
 * to: `flush` is a client on the backend that did the work.
 */
async function tuplesRead(flush: pg.Pool, reader: pg.Client): Promise<number> {
  await flush.query('SELECT pg_stat_force_next_flush()');
  await reader.query('SELECT pg_stat_clear_snapshot()');
  const { rows: stats } = await reader.query<{ read: string }>(
    `SELECT (SELECT coalesce(seq_tup_read, 0) FROM pg_stat_user_tables WHERE relname = 'callback_log')
          + (SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE relname = 'callback_log') AS read`,
  );
  return Number(stats[0]!.read);
}

describe.skipIf(!services)('gateway callback log: pruning by count (PostgreSQL)', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let pool: pg.Pool;
  let log: CallbackLog;

  beforeAll(async () => {
    db = await createTestDatabase(services!.pgUrl, 'cblog_prune');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    // One connection, so the statistics flush below reaches the backend that pruned.
    pool = createPgPool({ databaseUrl: db.url, poolSize: 1 });
  });
  afterAll(async () => {
    await pool?.end();
    await client?.end();
    await db?.drop();
  });

  it('an upgraded database counts the entries it held, and the cut is exact with gaps in seq', async () => {
    // The schema of the release before the row count, with entries in its log.
    await migrate(client, 3);
    await client.query(
      `INSERT INTO callback_log (request_id, bucket, key, operation, created_ms, failed, request, body, deliveries)
       SELECT 'OLD' || n, 'photos', 'old/' || n, 'PutObject', $1::bigint + n, false, '{}', '', '[]'
       FROM generate_series(1, 3) n`,
      [T0 - 1000],
    );
    await migrate(client);
    log = openPgCallbackLog(pool);

    await log.record([1, 2, 3, 4, 5].map((n) => entry(n)));
    // The repeated request id inserts nothing and spends a seq.
    await log.record([entry(6), entry(3)]);
    // A batch that fails (PostgreSQL text takes no NUL) rolls back and spends three.
    await expect(log.record([entry(7), entry(8), entry(99, 'bad\u0000key')])).rejects.toThrow();
    await log.record([entry(9), entry(10)]);
    const before = await rows(client);
    expect(before.map(([, requestId]) => requestId)).toEqual([
      'OLD1',
      'OLD2',
      'OLD3',
      ...[1, 2, 3, 4, 5, 6, 9, 10].map(id),
    ]);
    const seqs = before.map(([seq]) => seq);
    // The gaps this test is about: a cut at max(seq) - 4 would keep fewer than 4.
    expect(seqs.filter((seq) => seq > Math.max(...seqs) - 4).length).toBeLessThan(4);

    expect(await log.prune(new Date(T0 + 10), { ...keep, maxEntries: 4 })).toBe(7);
    expect((await rows(client)).map(([, requestId]) => requestId)).toEqual([5, 6, 9, 10].map(id));
    expect(await log.prune(new Date(T0 + 10), { ...keep, maxEntries: 4 })).toBe(0);
    // Age first, then count from what is left: 5 is too old, then one more than 2 remains.
    expect(await log.prune(new Date(T0 + 6), { maxAgeMs: 0, maxEntries: 2 })).toBe(2);
    expect((await rows(client)).map(([, requestId]) => requestId)).toEqual([9, 10].map(id));
    // Whatever removes rows keeps the count: emptied by TRUNCATE, it starts again from nothing.
    await client.query('TRUNCATE callback_log');
    await log.record([entry(11), entry(12), entry(13)]);
    expect(await log.prune(new Date(T0 + 10), { ...keep, maxEntries: 2 })).toBe(1);
    expect((await rows(client)).map(([, requestId]) => requestId)).toEqual([12, 13].map(id));
  });

  it('prunes a log of 100 000 entries reading the rows it drops, not the log', async () => {
    await client.query('TRUNCATE callback_log');
    const total = 100_000;
    await client.query(
      `INSERT INTO callback_log (request_id, bucket, key, operation, created_ms, failed, request, body, deliveries)
       SELECT 'BULK' || n, 'photos', 'bulk/' || n, 'PutObject', $1::bigint + n, false, '{}', '', '[]'
       FROM generate_series(1, $2::int) n`,
      [T0, total],
    );
    // What autovacuum does to a table that grew: without statistics the planner takes a log
    // of 100 000 rows for an empty table and scans it for the age prune.
    await client.query('ANALYZE callback_log');
    await log.record([entry(1), entry(2), entry(3)]);
    const read0 = await tuplesRead(pool, client);
    expect(await log.prune(new Date(T0), { ...keep, maxEntries: total })).toBe(3);
    const read = (await tuplesRead(pool, client)) - read0;
    // Three index entries to find the oldest rows, and the deletes' own lookups: a handful.
    // Counting down 100 000 rows reads 100 000 index entries.
    expect(read).toBeLessThan(100);
    const oldest = await client.query<{ request_id: string }>(
      'SELECT request_id FROM callback_log ORDER BY seq LIMIT 1',
    );
    expect(oldest.rows[0]!.request_id).toBe('BULK4');
  }, 120_000);
});
