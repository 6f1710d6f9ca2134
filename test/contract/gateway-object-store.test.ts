// The contract suites (ObjectStore, CallbackLog) against the gateway backend on PostgreSQL, each
// test in its own database, plus what only a store shared by several gateways promises: two store
// instances on one database race (overwrite, forbid-overwrite, append), garbage collection after
// the grace period (replaced, deleted and orphaned blobs; a reader within the grace still reads),
// and a lost database answers ServiceUnavailable.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isOssError } from '../../src/shared/oss-error.ts';
import type { BlobListEntry, BlobStore } from '../../src/store/gateway/blob-store.ts';
import {
  createGatewayObjectStore,
  type GatewayObjectStore,
  type GatewayObjectStoreOptions,
  type ObjectMeta,
  type PutOptions,
} from '../../src/store/index.ts';
import { createTestDatabase, testServices, type TestDatabase } from '../helpers/services.ts';
import { startThrottledProxy } from '../helpers/throttled-proxy.ts';
import { runCallbackLogContract } from './callback-log.contract.ts';
import { body, bytes, expectOssError, readAll, runObjectStoreContract } from './object-store.contract.ts';

const services = testServices();
const KiB = 1024;
const META: ObjectMeta = { contentType: 'text/plain', userMeta: {} };
const GRACE_MS = 60_000;

/** Blobs as files in a temp dir, with the engine's contract (ETag = MD5 of what was stored). */
function dirBlobStore(dir: string): BlobStore {
  const path = (key: string): string => join(dir, encodeURIComponent(key));
  const md5 = async (file: string): Promise<string> =>
    createHash('md5')
      .update(await readFile(file))
      .digest('hex');
  return {
    async put(key, source, size, signal) {
      const chunks: Buffer[] = [];
      for await (const chunk of source) {
        signal?.throwIfAborted();
        chunks.push(chunk as Buffer);
      }
      const data = Buffer.concat(chunks);
      if (data.length !== size) throw new Error(`blob ${key}: ${data.length} bytes, expected ${size}`);
      await writeFile(path(key), data);
      return { etag: await md5(path(key)) };
    },
    async get(key, range) {
      await stat(path(key));
      return createReadStream(path(key), range);
    },
    async copy(source, target) {
      await copyFile(path(source), path(target));
      return { etag: await md5(path(target)) };
    },
    async delete(keys) {
      for (const key of keys) await rm(path(key), { force: true });
    },
    async *list(prefix): AsyncIterable<BlobListEntry> {
      for (const name of (await readdir(dir)).sort()) {
        const key = decodeURIComponent(name);
        if (!key.startsWith(prefix)) continue;
        const info = await stat(join(dir, name));
        yield { key, lastModified: info.mtime, size: info.size };
      }
    },
    async check() {
      await stat(dir);
    },
    async close() {},
  };
}

async function blobKeys(blobs: BlobStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of blobs.list('')) keys.push(entry.key);
  return keys;
}

describe.skipIf(!services)('gateway store (PostgreSQL)', () => {
  async function open(
    label: string,
    options: Partial<GatewayObjectStoreOptions> = {},
  ): Promise<{ store: GatewayObjectStore; blobs: BlobStore; db: TestDatabase; dispose(): Promise<void> }> {
    const db = await createTestDatabase(services!.pgUrl, label);
    const dir = await mkdtemp(join(tmpdir(), 'upcall-gw-blobs-'));
    const blobs = dirBlobStore(dir);
    const store = await createGatewayObjectStore({
      databaseUrl: db.url,
      s3: services!.s3,
      blobStore: blobs,
      gcIntervalMs: 0,
      ...options,
    });
    return {
      store,
      blobs,
      db,
      async dispose() {
        await store.close();
        await db.drop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  runObjectStoreContract('gateway (PostgreSQL)', async () => {
    // Small segments, so multi-segment bodies and ranged reads across segments are exercised.
    const opened = await open('pgstore_contract', { segmentBytes: 64 * KiB });
    return { store: opened.store, dispose: () => opened.dispose() };
  });

  runCallbackLogContract('gateway (PostgreSQL)', async () => {
    const opened = await open('pgstore_cblog');
    return { log: opened.store.callbackLog!, dispose: () => opened.dispose() };
  });

  describe('two gateways on one database', () => {
    let db: TestDatabase;
    let dir: string;
    let blobs: BlobStore;
    let clock: number;
    let a: GatewayObjectStore;
    let b: GatewayObjectStore;

    const gateway = (): Promise<GatewayObjectStore> =>
      createGatewayObjectStore({
        databaseUrl: db.url,
        s3: services!.s3,
        blobStore: blobs,
        gcIntervalMs: 0,
        gcGraceMs: GRACE_MS,
        segmentBytes: 64 * KiB,
        now: () => clock,
      });

    beforeEach(async () => {
      clock = Date.now();
      db = await createTestDatabase(services!.pgUrl, 'pgstore_gateways');
      dir = await mkdtemp(join(tmpdir(), 'upcall-gw-blobs-'));
      blobs = dirBlobStore(dir);
      // Both start at once: the migration lock lets one create the schema, the other wait.
      [a, b] = await Promise.all([gateway(), gateway()]);
      await a.createBucket('b', 'private');
    });
    afterEach(async () => {
      await a.close();
      await b.close();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
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
      expect(await blobKeys(blobs)).toHaveLength(4);
      expect((await text(b, 'k')).equals(stored)).toBe(true);
    });

    it('forbidOverwrite race: exactly one of A and B creates the key, the other gets FileAlreadyExists', async () => {
      const bodies = [bytes(100 * KiB, 3), bytes(100 * KiB, 4)];
      const options = { meta: META, forbidOverwrite: true } as PutOptions;
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
      expect(await blobKeys(blobs)).toHaveLength(2);
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
      const first = await blobKeys(blobs);
      expect(first).toHaveLength(2);
      await b.putObject('b', 'k', body('replaced'), { meta: META });
      await b.putObject('b', 'gone', body('deleted'), { meta: META });
      await a.deleteObject('b', 'gone');
      expect(await a.sweepGarbage()).toBe(0);
      expect(await blobKeys(blobs)).toHaveLength(4);
      clock += GRACE_MS + 1;
      // Either gateway's sweep will do; running both at once deletes each blob once.
      const swept = await Promise.all([a.sweepGarbage(), b.sweepGarbage()]);
      expect(swept[0] + swept[1]).toBe(3);
      const left = await blobKeys(blobs);
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
      await expect.poll(async () => (await blobKeys(blobs)).length, { timeout: 5000 }).toBe(3);
      expect(await b.sweepGarbage()).toBe(0);
      clock += GRACE_MS + 1;
      expect(await b.sweepGarbage()).toBe(3);
      expect(await blobKeys(blobs)).toEqual([]);
      await expectOssError(b.headObject('b', 'orphan'), 'NoSuchKey');
      release();
      await writing;
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

  describe('PostgreSQL unreachable', () => {
    it('opening against a database that does not answer fails with ServiceUnavailable', async () => {
      const url = new URL(services!.pgUrl);
      const proxy = await startThrottledProxy(`http://${url.hostname}:${url.port}`, 1e9);
      url.port = new URL(proxy.url).port;
      await proxy.close();
      await expectOssError(
        createGatewayObjectStore({
          databaseUrl: url.toString(),
          s3: services!.s3,
          blobStore: dirBlobStore(tmpdir()),
          gcIntervalMs: 0,
        }),
        'ServiceUnavailable',
      );
    });

    it('a store whose database goes away answers ServiceUnavailable, and its health check says so', async () => {
      const db = await createTestDatabase(services!.pgUrl, 'pgstore_down');
      const dir = await mkdtemp(join(tmpdir(), 'upcall-gw-blobs-'));
      const target = new URL(db.url);
      const proxy = await startThrottledProxy(`http://${target.hostname}:${target.port}`, 1e9);
      const url = new URL(db.url);
      url.port = new URL(proxy.url).port;
      const store = await createGatewayObjectStore({
        databaseUrl: url.toString(),
        s3: services!.s3,
        blobStore: dirBlobStore(dir),
        gcIntervalMs: 0,
      });
      try {
        await store.createBucket('b', 'private');
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
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
