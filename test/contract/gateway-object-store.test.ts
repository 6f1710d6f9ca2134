// The contract suites (ObjectStore, CallbackLog) against the gateway backend on PostgreSQL and a
// real S3 engine (Swift s3api, and Ceph RGW where configured): one database per engine, tables
// emptied between tests, a blob key prefix per test. Plus what only a store shared by several
// gateways promises: two store instances on one database race (overwrite, forbid-overwrite,
// append, delete bucket), garbage collection after the grace period (replaced, deleted and
// orphaned blobs; a reader within the grace still reads), the shared callback key, and a lost
// database answers ServiceUnavailable.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { startLifecycleSweeper } from '../../src/server/lifecycle/lifecycle-sweeper.ts';
import { isOssError } from '../../src/shared/oss-error.ts';
import type { BlobStore, S3Config } from '../../src/store/gateway/blob-store.ts';
import { createS3BlobStore } from '../../src/store/gateway/s3-blob-store.ts';
import { createGatewayObjectStore } from '../../src/store/gateway/gateway-object-store.ts';
import {
  type GatewayObjectStore,
  type GatewayObjectStoreOptions,
  type ObjectMeta,
  type PutOptions,
} from '../../src/store/index.ts';
import { createTestDatabase, testCephS3, testServices, type TestDatabase } from '../helpers/services.ts';
import { startThrottledProxy } from '../helpers/throttled-proxy.ts';
import { runCallbackLogContract } from './callback-log.contract.ts';
import { body, bytes, expectOssError, readAll, runObjectStoreContract } from './object-store.contract.ts';

const services = testServices();
// Every write here is a PUT to a real engine over the network: the contract suite's property
// tests make hundreds, which on a loaded machine outlast the default 30 s.
vi.setConfig({ testTimeout: 180_000 });
const KiB = 1024;
const META: ObjectMeta = { contentType: 'text/plain', userMeta: {} };
const GRACE_MS = 60_000;

/** The engines the suites run on: Swift s3api always, Ceph RGW where it is configured. */
const engines: [string, S3Config][] = [];
if (services) engines.push(['Swift s3api', services.s3]);
const ceph = services && testCephS3();
if (ceph) engines.push(['Ceph RGW', ceph]);

/** A blob key prefix of its own, so runs sharing an engine bucket never see each other's blobs. */
function newPrefix(): string {
  return `pgstore-test/${randomBytes(6).toString('hex')}/`;
}

async function blobKeys(blobs: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of blobs.list(prefix)) keys.push(entry.key);
  return keys;
}

/** Deletes whatever a run left under its prefix (garbage not yet due, blobs of live rows). */
async function cleanBlobs(blobs: BlobStore, prefix: string): Promise<void> {
  await blobs.delete(await blobKeys(blobs, prefix));
}

describe.skipIf(engines.length === 0).each(engines)('gateway store (PostgreSQL + %s)', (_engine, s3) => {
  // One database per engine; every contract test starts from empty tables (TRUNCATE is much
  // cheaper than a database per test) and a blob prefix of its own.
  let shared: TestDatabase;
  let blobs: BlobStore;
  beforeAll(async () => {
    shared = await createTestDatabase(services!.pgUrl, 'pgstore_contract');
    blobs = createS3BlobStore(s3);
  });
  afterAll(async () => {
    await shared.drop();
    await blobs.close();
  });

  async function open(options: Partial<GatewayObjectStoreOptions> = {}): Promise<{
    store: GatewayObjectStore;
    dispose(): Promise<void>;
  }> {
    const prefix = newPrefix();
    const store = await createGatewayObjectStore({
      databaseUrl: shared.url,
      s3,
      blobStore: blobs,
      blobKeyPrefix: prefix,
      gcIntervalMs: 0,
      ...options,
    });
    return {
      store,
      async dispose() {
        await store.close();
        await cleanBlobs(blobs, prefix);
        const client = new pg.Client({ connectionString: shared.url });
        await client.connect();
        try {
          await client.query(
            'TRUNCATE buckets, objects, uploads, parts, blob_gc, blob_intent, callback_key, callback_log, master_key',
          );
        } finally {
          await client.end();
        }
      },
    };
  }

  runObjectStoreContract(`gateway (PostgreSQL + ${_engine})`, async () => {
    // Small segments, so multi-segment bodies and ranged reads across segments are exercised.
    const opened = await open({ segmentBytes: 64 * KiB });
    return { store: opened.store, dispose: () => opened.dispose() };
  });

  runCallbackLogContract(`gateway (PostgreSQL + ${_engine})`, async () => {
    const opened = await open();
    return { log: opened.store.callbackLog!, dispose: () => opened.dispose() };
  });

  describe('two gateways on one database', () => {
    let db: TestDatabase;
    let prefix: string;
    let clock: number;
    let a: GatewayObjectStore;
    let b: GatewayObjectStore;

    const gateway = (): Promise<GatewayObjectStore> =>
      createGatewayObjectStore({
        databaseUrl: db.url,
        s3,
        blobStore: blobs,
        blobKeyPrefix: prefix,
        gcIntervalMs: 0,
        gcGraceMs: GRACE_MS,
        segmentBytes: 64 * KiB,
        now: () => clock,
      });
    const blobsLeft = (): Promise<string[]> => blobKeys(blobs, prefix);

    beforeEach(async () => {
      clock = Date.now();
      prefix = newPrefix();
      db = await createTestDatabase(services!.pgUrl, 'pgstore_gateways');
      // Both start at once: the migration lock lets one create the schema, the other wait.
      [a, b] = await Promise.all([gateway(), gateway()]);
      await a.createBucket('b', 'private');
    });
    afterEach(async () => {
      await a.close();
      await b.close();
      await db.drop();
      await cleanBlobs(blobs, prefix);
    });

    async function text(store: GatewayObjectStore, key: string): Promise<Buffer> {
      return readAll((await store.getObject('b', key)).body);
    }

    /** A body that sends `data` slowly, so concurrent writes overlap for real. */
    function slowBody(data: Buffer, pieces = 8): Readable {
      return Readable.from(
        (async function* () {
          const size = Math.ceil(data.length / pieces);
          for (let i = 0; i < data.length; i += size) {
            yield data.subarray(i, i + size);
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        })(),
      );
    }

    it('a write through A is read, listed and headed through B', async () => {
      await a.putObject('b', 'k', body('from A'), { meta: META });
      expect((await text(b, 'k')).toString()).toBe('from A');
      expect((await b.headObject('b', 'k')).size).toBe(6);
      expect((await b.listObjects('b', { maxKeys: 10 })).objects.map((o) => o.key)).toEqual(['k']);
    });

    it("overwrite race A vs B: one whole body wins, the loser's blobs are garbage", async () => {
      const bodies = [bytes(200 * KiB, 1), bytes(200 * KiB, 2)];
      await Promise.all([
        a.putObject('b', 'k', slowBody(bodies[0]!), { meta: META }),
        b.putObject('b', 'k', slowBody(bodies[1]!), { meta: META }),
      ]);
      const stored = await text(a, 'k');
      expect(bodies.some((candidate) => candidate.equals(stored))).toBe(true);
      // After the grace, only the winner's 4 segments (200 KiB in 64 KiB blobs) remain.
      clock += GRACE_MS + 1;
      await a.sweepGarbage();
      expect(await blobsLeft()).toHaveLength(4);
      expect((await text(b, 'k')).equals(stored)).toBe(true);
    });

    it('forbidOverwrite race: exactly one of A and B creates the key, the other gets FileAlreadyExists', async () => {
      const bodies = [bytes(100 * KiB, 3), bytes(100 * KiB, 4)];
      const options: PutOptions = { meta: META, forbidOverwrite: true };
      const results = await Promise.allSettled([
        a.putObject('b', 'new', slowBody(bodies[0]!), options),
        b.putObject('b', 'new', slowBody(bodies[1]!), options),
      ]);
      const won = results.findIndex((r) => r.status === 'fulfilled');
      const lost = results.find((r) => r.status === 'rejected');
      expect(won).not.toBe(-1);
      expect(lost, 'exactly one must fail').toBeDefined();
      const reason: unknown = (lost as PromiseRejectedResult).reason;
      expect(isOssError(reason) ? reason.code : reason).toBe('FileAlreadyExists');
      expect((await text(b, 'new')).equals(bodies[won]!)).toBe(true);
      // The loser's blobs are not left behind.
      expect(await blobsLeft()).toHaveLength(2);
    });

    it('AppendObject race at one position: one wins, the other PositionNotEqualToLength', async () => {
      await a.appendObject('b', 'log', 0, body('start;'), { meta: META });
      const results = await Promise.allSettled([
        a.appendObject('b', 'log', 6, slowBody(Buffer.from('A'.repeat(1000))), { meta: META }),
        b.appendObject('b', 'log', 6, slowBody(Buffer.from('B'.repeat(1000))), { meta: META }),
      ]);
      const codes = results.map((r) =>
        r.status === 'fulfilled' ? 'ok' : (r.reason as { code?: string }).code,
      );
      expect(codes.sort()).toEqual(['PositionNotEqualToLength', 'ok']);
      const stored = (await text(b, 'log')).toString();
      expect(['start;' + 'A'.repeat(1000), 'start;' + 'B'.repeat(1000)]).toContain(stored);
    });

    it('DeleteBucket on B while A has an object: BucketNotEmpty; an empty one is gone for A too', async () => {
      await a.putObject('b', 'k', body('x'), { meta: META });
      await expectOssError(b.deleteBucket('b'), 'BucketNotEmpty');
      await b.createBucket('empty', 'private');
      await b.deleteBucket('empty');
      await expectOssError(a.putObject('empty', 'k', body('x'), { meta: META }), 'NoSuchBucket');
    });

    it('replaced and deleted blobs stay for the grace period, then the sweep deletes them', async () => {
      await a.putObject('b', 'k', body(bytes(100 * KiB, 5)), { meta: META });
      const first = await blobsLeft();
      expect(first).toHaveLength(2);
      await b.putObject('b', 'k', body('replaced'), { meta: META });
      await b.putObject('b', 'gone', body('deleted'), { meta: META });
      await a.deleteObject('b', 'gone');
      expect(await a.sweepGarbage()).toBe(0);
      expect(await blobsLeft()).toHaveLength(4);
      clock += GRACE_MS + 1;
      // Either gateway's sweep will do; running both at once deletes each blob once.
      const swept = await Promise.all([a.sweepGarbage(), b.sweepGarbage()]);
      expect(swept[0] + swept[1]).toBe(3);
      const left = await blobsLeft();
      expect(left).toHaveLength(1);
      expect(first.some((key) => left.includes(key))).toBe(false);
      expect((await text(a, 'k')).toString()).toBe('replaced');
    });

    it('a reader that started before a replace reads the old body within the grace', async () => {
      const old = bytes(300 * KiB, 6);
      await a.putObject('b', 'k', body(old), { meta: META });
      const { body: reading } = await b.getObject('b', 'k');
      await a.putObject('b', 'k', body('new'), { meta: META });
      await a.deleteObject('b', 'k');
      clock += GRACE_MS - 1;
      await a.sweepGarbage();
      // The old body has 5 segments; all but the first are fetched only now.
      expect((await readAll(reading)).equals(old)).toBe(true);
    });

    it("an uncommitted write's blobs (a gateway killed mid-upload) are swept after the grace, not before", async () => {
      // A's upload sends three segments' worth, then hangs, as if its gateway died.
      let release!: () => void;
      const hung = Readable.from(
        (async function* () {
          yield bytes(3 * 64 * KiB, 7);
          await new Promise<void>((resolve) => (release = resolve));
          throw new Error('client gone');
        })(),
      );
      const writing = a.putObject('b', 'orphan', hung, { meta: META }).catch((error: unknown) => error);
      await expect.poll(async () => (await blobsLeft()).length, { timeout: 5000 }).toBe(3);
      expect(await b.sweepGarbage()).toBe(0);
      clock += GRACE_MS + 1;
      expect(await b.sweepGarbage()).toBe(3);
      expect(await blobsLeft()).toEqual([]);
      await expectOssError(b.headObject('b', 'orphan'), 'NoSuchKey');
      release();
      await writing;
    });

    it.each([
      ['plain', {}],
      // Encrypted: compaction reads and rewrites the blobs under the object's own data key.
      ['encrypted', { serverSideEncryption: 'AES256' as const }],
    ])(
      'an object (%s) appended to past 64 times is compacted: same bytes, ETag and CRC-64, fewer blobs',
      async (_kind, settings) => {
        const pieces: Buffer[] = [];
        let appended;
        for (let i = 0; i < 70; i++) {
          pieces.push(bytes(100, i + 1));
          appended = await a.appendObject('b', 'log', i * 100, body(pieces[i]!), { meta: META, settings });
        }
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        const segmentCount = async (): Promise<number> =>
          (
            await client.query<{ n: number }>(
              "SELECT json_array_length(segments) AS n FROM objects WHERE bucket = 'b' AND key = 'log'::bytea",
            )
          ).rows[0]!.n;
        try {
          // 65 one-append blobs become one after the 65th append; the last appends add a few more.
          await expect.poll(segmentCount, { timeout: 20_000 }).toBeLessThanOrEqual(6);
        } finally {
          await client.end();
        }
        const head = await b.headObject('b', 'log');
        expect(head).toEqual(appended);
        expect((await text(b, 'log')).equals(Buffer.concat(pieces))).toBe(true);
        const ranged = await readAll((await b.getObject('b', 'log', { start: 6450, end: 6550 })).body);
        expect(ranged.equals(Buffer.concat(pieces).subarray(6450, 6551))).toBe(true);
        // The compacted blobs are garbage: after the grace only the live segments remain.
        clock += GRACE_MS + 1;
        await a.sweepGarbage();
        expect((await blobsLeft()).length).toBeLessThanOrEqual(6);
      },
    );

    it('the callback key is created once and shared', async () => {
      const keys = await Promise.all([
        a.getOrCreateCallbackKey(() => 'PEM of A'),
        b.getOrCreateCallbackKey(() => 'PEM of B'),
      ]);
      expect(keys[0]).toBe(keys[1]);
      expect(await b.getOrCreateCallbackKey(() => 'another')).toBe(keys[0]);
    });

    it('an object encrypted through A decrypts through B (one master key, kept in PostgreSQL), ranges across segments too', async () => {
      const data = bytes(200 * KiB + 5, 7);
      // Both gateways ask for the master key at once: one creates it, both use that one.
      await Promise.all([
        a.putObject('b', 'secret', body(data), { meta: META, settings: { serverSideEncryption: 'AES256' } }),
        b.putObject('b', 'other', body('x'), { meta: META, settings: { serverSideEncryption: 'AES256' } }),
      ]);
      expect((await b.headObject('b', 'secret')).serverSideEncryption).toBe('AES256');
      expect((await text(b, 'secret')).equals(data)).toBe(true);
      expect((await text(a, 'other')).toString()).toBe('x');
      const start = 64 * KiB - 3;
      const end = 2 * 64 * KiB + 20;
      const ranged = await readAll((await b.getObject('b', 'secret', { start, end })).body);
      expect(ranged.equals(data.subarray(start, end + 1))).toBe(true);
      // At rest in the engine: IV + ciphertext per segment, never the plaintext.
      const stored = await blobsLeft();
      expect(stored.length).toBe(5);
      const first = await readAll(await blobs.get(stored[0]!));
      expect(first.includes(data.subarray(1000, 1032))).toBe(false);
      // A gateway given another master key cannot read it (the wrapped data key fails to unwrap).
      const stranger = await createGatewayObjectStore({
        databaseUrl: db.url,
        s3,
        blobStore: blobs,
        blobKeyPrefix: prefix,
        gcIntervalMs: 0,
        masterKey: randomBytes(32),
      });
      try {
        await expect(stranger.getObject('b', 'secret')).rejects.toThrow();
      } finally {
        await stranger.close();
      }
    });

    it('gateways given one master key (UPCALL_MASTER_KEY) share it without the database', async () => {
      const masterKey = randomBytes(32);
      const withKey = (): Promise<GatewayObjectStore> =>
        createGatewayObjectStore({
          databaseUrl: db.url,
          s3,
          blobStore: blobs,
          blobKeyPrefix: prefix,
          gcIntervalMs: 0,
          masterKey,
        });
      const [c, d] = await Promise.all([withKey(), withKey()]);
      try {
        await c.putObject('b', 'k', body('sealed'), {
          meta: META,
          settings: { serverSideEncryption: 'AES256' },
        });
        expect((await text(d, 'k')).toString()).toBe('sealed');
        // The database keeps no key of its own: it was never needed.
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          expect((await client.query('SELECT 1 FROM master_key')).rowCount).toBe(0);
        } finally {
          await client.end();
        }
      } finally {
        await c.close();
        await d.close();
      }
    });

    it('one lifecycle sweep per round across the gateways: objects expire exactly once, both sweeps run', async () => {
      const logger = pino({ level: 'silent' });
      const options = { intervalMs: 3_600_000, dayMs: 1000, batchSize: 3 };
      const sweepers = [a, b].map((store) =>
        startLifecycleSweeper(store, options, { now: () => new Date(clock), logger }),
      );
      try {
        // Each starts with a sweep of its own: let both finish before the rule exists.
        await Promise.all(sweepers.map((s) => s.sweep()));
        const keys = Array.from({ length: 7 }, (_, i) => `logs/${i}`);
        for (const key of keys) await a.putObject('b', key, body(key), { meta: META });
        await b.putObject('b', 'keep/1', body('kept'), { meta: META });
        await a.putBucketSetting('b', 'lifecycle', {
          rules: [{ id: 'r', prefix: 'logs/', status: 'Enabled', tags: [], expiration: { days: 1 } }],
        });
        clock += 2000;
        // While A holds the lifecycle sweep, B's round is skipped and deletes nothing.
        const skipped = await a.withSweepLock('lifecycle', () => sweepers[1]!.sweep());
        expect(skipped).toMatchObject({ skipped: true, expiredObjects: 0 });
        expect((await b.listObjects('b', { maxKeys: 100 })).objects).toHaveLength(8);
        // Both sweep at once, several rounds: every object expires exactly once in total.
        const reports = await Promise.all([
          ...sweepers.map((s) => s.sweep()),
          ...sweepers.map((s) => s.sweep()),
        ]);
        expect(reports.reduce((sum, r) => sum + r.expiredObjects, 0)).toBe(keys.length);
        expect((await a.listObjects('b', { maxKeys: 100 })).objects.map((o) => o.key)).toEqual(['keep/1']);
        // Once the lock is free, either gateway sweeps (nothing left to do, but not skipped).
        for (const sweeper of sweepers) expect((await sweeper.sweep()).skipped).toBeUndefined();
      } finally {
        await Promise.all(sweepers.map((s) => s.close()));
      }
    });
  });

  it('a blob the engine stored differently (ETag is not our MD5) fails the write with InternalError and is deleted', async () => {
    // The real engine, but reporting the ETag of other bytes for every PUT, as a corrupting
    // engine or proxy would.
    const corrupting: BlobStore = {
      ...blobs,
      put: async (key, data, size, signal) => {
        await blobs.put(key, data, size, signal);
        return { etag: 'd41d8cd98f00b204e9800998ecf8427e' };
      },
    };
    const prefix = newPrefix();
    const db = await createTestDatabase(services!.pgUrl, 'pgstore_etag');
    const store = await createGatewayObjectStore({
      databaseUrl: db.url,
      s3,
      blobStore: corrupting,
      blobKeyPrefix: prefix,
      gcIntervalMs: 0,
      segmentBytes: 64 * KiB,
    });
    try {
      await store.createBucket('b', 'private');
      // One blob (checked against the whole-body MD5) and several (each checked on its own).
      for (const size of [10, 200 * KiB]) {
        await expectOssError(store.putObject('b', 'k', body(bytes(size)), { meta: META }), 'InternalError');
        await expectOssError(store.headObject('b', 'k'), 'NoSuchKey');
        expect(await blobKeys(blobs, prefix)).toEqual([]);
      }
    } finally {
      await store.close();
      await db.drop();
      await cleanBlobs(blobs, prefix);
    }
  });

  describe('PostgreSQL unreachable', () => {
    it('opening against a database that does not answer fails with ServiceUnavailable', async () => {
      const url = new URL(services!.pgUrl);
      const proxy = await startThrottledProxy(`http://${url.hostname}:${url.port}`, 1e9);
      url.port = new URL(proxy.url).port;
      await proxy.close();
      await expectOssError(
        createGatewayObjectStore({
          databaseUrl: url.toString(),
          s3,
          blobStore: blobs,
          gcIntervalMs: 0,
        }),
        'ServiceUnavailable',
      );
    });

    it('a store whose database goes away answers ServiceUnavailable, and its health check says so', async () => {
      const db = await createTestDatabase(services!.pgUrl, 'pgstore_down');
      const target = new URL(db.url);
      const proxy = await startThrottledProxy(`http://${target.hostname}:${target.port}`, 1e9);
      const url = new URL(db.url);
      url.port = new URL(proxy.url).port;
      const prefix = newPrefix();
      // No blobStore given: the store makes its own S3 blob store from `s3`.
      const store = await createGatewayObjectStore({
        databaseUrl: url.toString(),
        s3,
        blobKeyPrefix: prefix,
        gcIntervalMs: 0,
      });
      try {
        await store.createBucket('b', 'private');
        await store.putObject('b', 'k', body('stored'), { meta: META });
        expect((await readAll((await store.getObject('b', 'k')).body)).toString()).toBe('stored');
        await proxy.close();
        await expectOssError(store.headObject('b', 'k'), 'ServiceUnavailable');
        await expectOssError(store.putObject('b', 'k', body('x'), { meta: META }), 'ServiceUnavailable');
        await expectOssError(store.listBuckets(), 'ServiceUnavailable');
        const health = await store.checkHealth();
        expect(health.find((c) => c.name === 'metadata-database')?.ok).toBe(false);
        expect(health.find((c) => c.name === 's3-engine')?.ok).toBe(true);
      } finally {
        await store.close();
        await db.drop();
        await cleanBlobs(blobs, prefix);
      }
    });
  });
});
