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
import { isOssError } from '../../src/shared/oss-error.ts';
import type { BlobStore, S3Config } from '../../src/store/gateway/blob-store.ts';
import { createS3BlobStore } from '../../src/store/gateway/s3-blob-store.ts';
import {
  createGatewayObjectStore,
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
            'TRUNCATE buckets, objects, uploads, parts, blob_gc, blob_intent, callback_key, callback_log',
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

    it('an object appended to past 64 times is compacted: same bytes, ETag and CRC-64, fewer blobs', async () => {
      const pieces: Buffer[] = [];
      let appended;
      for (let i = 0; i < 70; i++) {
        pieces.push(bytes(100, i + 1));
        appended = await a.appendObject('b', 'log', i * 100, body(pieces[i]!), { meta: META });
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
      // The compacted blobs are garbage: after the grace only the live segments remain.
      clock += GRACE_MS + 1;
      await a.sweepGarbage();
      expect((await blobsLeft()).length).toBeLessThanOrEqual(6);
    });

    it('the callback key is created once and shared', async () => {
      const keys = await Promise.all([
        a.getOrCreateCallbackKey(() => 'PEM of A'),
        b.getOrCreateCallbackKey(() => 'PEM of B'),
      ]);
      expect(keys[0]).toBe(keys[1]);
      expect(await b.getOrCreateCallbackKey(() => 'another')).toBe(keys[0]);
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
