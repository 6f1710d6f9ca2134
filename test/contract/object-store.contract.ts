/**
 * The one contract suite every ObjectStore backend passes (STYLE.md 3.0 rule 3). It drives the
 * public interface only and checks the documented errors of every method by code.
 *
 * `makeStore` returns a fresh, empty store and a `dispose` that closes it and removes whatever it
 * left on disk.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { crc64 } from '../../src/shared/crc64.ts';
import { md5Etag, multipartEtag } from '../../src/shared/etag.ts';
import { isOssError } from '../../src/shared/oss-error.ts';
import type {
  ObjectMeta,
  ObjectStore,
  PartRecord,
  ReceivedDigests,
  StoredObject,
} from '../../src/store/index.ts';

export interface StoreFixture {
  store: ObjectStore;
  dispose(): Promise<void>;
}

const KiB = 1024;
const META: ObjectMeta = { contentType: 'application/octet-stream', userMeta: {} };

export function body(data: Buffer | string): Readable {
  return Readable.from([typeof data === 'string' ? Buffer.from(data) : data]);
}

/** A body that delivers `chunks` then fails like a client abort. */
export function failingBody(...chunks: Buffer[]): Readable {
  return Readable.from(
    (async function* () {
      for (const chunk of chunks) yield chunk;
      throw new Error('client aborted');
    })(),
  );
}

/** A body that arrives in `chunks` pieces, `delayMs` apart: slow enough for writes to overlap. */
export function slowBody(data: Buffer, chunks: number, delayMs: number): Readable {
  const size = Math.ceil(data.length / chunks);
  return Readable.from(
    (async function* () {
      for (let at = 0; at < data.length; at += size) {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        yield data.subarray(at, at + size);
      }
    })(),
  );
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Deterministic pseudo-random bytes (so failures reproduce). */
export function bytes(size: number, seed = 1): Buffer {
  const buf = Buffer.alloc(size);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

export async function expectOssError(promise: Promise<unknown>, code: string): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code}`).toBeDefined();
  expect(isOssError(caught) ? caught.code : caught).toBe(code);
}

/** Key order the suite expects: UTF-8 bytes. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** An independent model of the store's key-range scan over a key set, to check the backends against. */
function modelScan(
  keys: Iterable<string>,
  q: { prefix?: string; after?: string; maxKeys: number },
): { keys: string[]; isTruncated: boolean } {
  const prefix = q.prefix ?? '';
  const inRange = [...keys]
    .filter((key) => key.startsWith(prefix) && (q.after === undefined || byteOrder(key, q.after) > 0))
    .sort(byteOrder);
  return { keys: inRange.slice(0, q.maxKeys), isTruncated: inRange.length > q.maxKeys };
}

export function runObjectStoreContract(name: string, makeStore: () => Promise<StoreFixture>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: ObjectStore;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    async function put(bucket: string, key: string, data: Buffer | string, meta: ObjectMeta = META) {
      return store.putObject(bucket, key, body(data), { meta });
    }
    async function get(bucket: string, key: string, range?: { start: number; end: number }) {
      const { object, body: stream } = await store.getObject(bucket, key, range);
      return { object, data: await readAll(stream) };
    }

    describe('buckets', () => {
      it('creates, gets, lists in name order, sets the ACL and deletes', async () => {
        const created = await store.createBucket('beta', 'private');
        expect(created.name).toBe('beta');
        expect(created.acl).toBe('private');
        expect(created.creationDate).toBeInstanceOf(Date);
        await store.createBucket('alpha', 'public-read');
        expect((await store.listBuckets()).map((b) => b.name)).toEqual(['alpha', 'beta']);
        await store.setBucketAcl('beta', 'public-read-write');
        expect((await store.getBucket('beta')).acl).toBe('public-read-write');
        await store.deleteBucket('beta');
        await expectOssError(store.getBucket('beta'), 'NoSuchBucket');
        expect((await store.listBuckets()).map((b) => b.name)).toEqual(['alpha']);
      });

      it('keeps a CORS configuration per bucket, replaces it whole and deletes it', async () => {
        await store.createBucket('b', 'private');
        await store.createBucket('other', 'private');
        expect(await store.getBucketSetting('b', 'cors')).toBeUndefined();
        const cors = {
          rules: [
            {
              allowedOrigins: ['https://*.example.com'],
              allowedMethods: ['PUT', 'POST'],
              allowedHeaders: ['*'],
              exposeHeaders: ['ETag', 'x-oss-request-id'],
              maxAgeSeconds: 600,
            },
            { allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: [] },
          ],
          responseVary: true,
        };
        await store.putBucketSetting('b', 'cors', cors);
        expect(await store.getBucketSetting('b', 'cors')).toEqual(cors);
        expect(await store.getBucketSetting('other', 'cors')).toBeUndefined();
        const replacement = { rules: [cors.rules[1]!], responseVary: false };
        await store.putBucketSetting('b', 'cors', replacement);
        expect(await store.getBucketSetting('b', 'cors')).toEqual(replacement);
        await store.putBucketSetting('b', 'cors', undefined);
        expect(await store.getBucketSetting('b', 'cors')).toBeUndefined();
        // A re-created bucket starts without rules.
        await store.putBucketSetting('other', 'cors', cors);
        await store.deleteBucket('other');
        await store.createBucket('other', 'private');
        expect(await store.getBucketSetting('other', 'cors')).toBeUndefined();
      });

      it('keeps a lifecycle configuration per bucket, replaces it whole and deletes it', async () => {
        await store.createBucket('b', 'private');
        await store.createBucket('other', 'private');
        expect(await store.getBucketSetting('b', 'lifecycle')).toBeUndefined();
        const lifecycle = {
          rules: [
            {
              id: 'expire tmp',
              prefix: 'tmp/',
              status: 'Enabled' as const,
              tags: [{ key: 'kind', value: 'scratch' }],
              expiration: { days: 3 },
            },
            {
              id: 'abort stale uploads',
              prefix: '',
              status: 'Disabled' as const,
              tags: [],
              expiration: { createdBeforeDate: '2026-01-01T00:00:00.000Z' },
              abortMultipartUpload: { days: 7 },
            },
          ],
        };
        await store.putBucketSetting('b', 'lifecycle', lifecycle);
        expect(await store.getBucketSetting('b', 'lifecycle')).toEqual(lifecycle);
        expect(await store.getBucketSetting('other', 'lifecycle')).toBeUndefined();
        // The store hands out copies: changing one changes nothing stored.
        const read = await store.getBucketSetting('b', 'lifecycle');
        (read!.rules as unknown[]).length = 0;
        expect(await store.getBucketSetting('b', 'lifecycle')).toEqual(lifecycle);
        const replacement = { rules: [lifecycle.rules[1]!] };
        await store.putBucketSetting('b', 'lifecycle', replacement);
        expect(await store.getBucketSetting('b', 'lifecycle')).toEqual(replacement);
        await store.putBucketSetting('b', 'lifecycle', undefined);
        expect(await store.getBucketSetting('b', 'lifecycle')).toBeUndefined();
        // A re-created bucket starts without one.
        await store.putBucketSetting('other', 'lifecycle', lifecycle);
        await store.deleteBucket('other');
        await store.createBucket('other', 'private');
        expect(await store.getBucketSetting('other', 'lifecycle')).toBeUndefined();
      });

      it('keeps each bucket setting apart: putting or deleting one leaves the others', async () => {
        await store.createBucket('b', 'private');
        const cors = { rules: [], responseVary: false };
        const lifecycle = { rules: [{ id: 'r', prefix: '', status: 'Enabled' as const, tags: [] }] };
        await store.putBucketSetting('b', 'cors', cors);
        await store.putBucketSetting('b', 'lifecycle', lifecycle);
        await store.putBucketSetting('b', 'encryption', { algorithm: 'AES256' });
        await store.putBucketSetting('b', 'lifecycle', undefined);
        expect(await store.getBucketSetting('b', 'cors')).toEqual(cors);
        expect(await store.getBucketSetting('b', 'lifecycle')).toBeUndefined();
        expect(await store.getBucketSetting('b', 'encryption')).toEqual({ algorithm: 'AES256' });
        await store.putBucketSetting('b', 'cors', { rules: [], responseVary: true });
        expect(await store.getBucketSetting('b', 'encryption')).toEqual({ algorithm: 'AES256' });
        expect(await store.getBucketSetting('b', 'cors')).toEqual({ rules: [], responseVary: true });
        // Settings hang off the bucket's metadata, never its ACL or class.
        expect(await store.getBucket('b')).toMatchObject({ acl: 'private', storageClass: 'Standard' });
      });

      it('refuses a second bucket of the same name', async () => {
        await store.createBucket('b', 'private');
        await expectOssError(store.createBucket('b', 'public-read'), 'BucketAlreadyExists');
        expect((await store.getBucket('b')).acl).toBe('private');
      });

      it('answers NoSuchBucket for every operation on a missing bucket', async () => {
        await expectOssError(store.getBucket('nope'), 'NoSuchBucket');
        await expectOssError(store.setBucketAcl('nope', 'private'), 'NoSuchBucket');
        await expectOssError(store.getBucketSetting('nope', 'cors'), 'NoSuchBucket');
        await expectOssError(store.putBucketSetting('nope', 'cors', undefined), 'NoSuchBucket');
        await expectOssError(
          store.putBucketSetting('nope', 'cors', { rules: [], responseVary: false }),
          'NoSuchBucket',
        );
        await expectOssError(store.getBucketSetting('nope', 'lifecycle'), 'NoSuchBucket');
        await expectOssError(store.putBucketSetting('nope', 'lifecycle', undefined), 'NoSuchBucket');
        await expectOssError(store.deleteBucket('nope'), 'NoSuchBucket');
        await expectOssError(put('nope', 'k', 'x'), 'NoSuchBucket');
        await expectOssError(store.headObject('nope', 'k'), 'NoSuchBucket');
        await expectOssError(store.getObject('nope', 'k'), 'NoSuchBucket');
        await expectOssError(store.deleteObject('nope', 'k'), 'NoSuchBucket');
        await expectOssError(store.listObjects('nope', { maxKeys: 10 }), 'NoSuchBucket');
        await expectOssError(store.appendObject('nope', 'k', 0, body('x'), { meta: META }), 'NoSuchBucket');
        await expectOssError(store.multipart.initiate('nope', 'k', META), 'NoSuchBucket');
        await expectOssError(store.multipart.listUploads('nope', { maxUploads: 10 }), 'NoSuchBucket');
        await store.createBucket('b', 'private');
        await put('b', 'k', 'x');
        await expectOssError(store.copyObject({ bucket: 'nope', key: 'k' }, 'b', 'k2'), 'NoSuchBucket');
        await expectOssError(store.copyObject({ bucket: 'b', key: 'k' }, 'nope', 'k2'), 'NoSuchBucket');
      });

      it('refuses to delete a bucket holding objects or pending multipart uploads', async () => {
        await store.createBucket('b', 'private');
        await put('b', 'k', 'x');
        await expectOssError(store.deleteBucket('b'), 'BucketNotEmpty');
        await store.deleteObject('b', 'k');
        const upload = await store.multipart.initiate('b', 'm', META);
        await expectOssError(store.deleteBucket('b'), 'BucketNotEmpty');
        await store.multipart.abort(upload);
        await store.deleteBucket('b');
        await expectOssError(store.getBucket('b'), 'NoSuchBucket');
      });

      it('a re-created bucket starts empty', async () => {
        await store.createBucket('b', 'private');
        await put('b', 'k', 'x');
        await store.deleteObject('b', 'k');
        await store.deleteBucket('b');
        await store.createBucket('b', 'private');
        expect((await store.listObjects('b', { maxKeys: 10 })).objects).toEqual([]);
      });
    });

    describe('objects', () => {
      beforeEach(async () => {
        await store.createBucket('b', 'private');
      });

      it('puts, heads and gets an object with its hashes and metadata', async () => {
        const meta: ObjectMeta = {
          contentType: 'text/plain',
          contentDisposition: 'attachment; filename="a.txt"',
          contentEncoding: 'identity',
          cacheControl: 'no-cache',
          expires: 'Thu, 01 Dec 1994 16:00:00 GMT',
          userMeta: { owner: 'Zoë', 'x-y': 'v' },
        };
        const data = Buffer.from('hello, world');
        const stored = await put('b', 'dir/hello.txt', data, meta);
        expect(stored).toMatchObject({
          bucket: 'b',
          key: 'dir/hello.txt',
          size: data.length,
          etag: md5Etag(data),
          crc64: crc64(data),
          type: 'Normal',
          meta,
        });
        expect(stored.contentMd5).toBe(Buffer.from(md5Etag(data), 'hex').toString('base64'));
        expect(stored.etag).toMatch(/^[0-9A-F]{32}$/);
        const head = await store.headObject('b', 'dir/hello.txt');
        expect(head).toEqual(stored);
        const got = await get('b', 'dir/hello.txt');
        expect(got.data.equals(data)).toBe(true);
        expect(got.object).toEqual(stored);
      });

      it('keeps metadata it was given and returns copies', async () => {
        const meta: ObjectMeta = { contentType: 'a/b', userMeta: { k: 'v' } };
        await put('b', 'k', 'x', meta);
        meta.userMeta.k = 'changed';
        const head = await store.headObject('b', 'k');
        expect(head.meta.userMeta).toEqual({ k: 'v' });
        head.meta.userMeta.k = 'mutated';
        expect((await store.headObject('b', 'k')).meta.userMeta).toEqual({ k: 'v' });
      });

      it('stores an empty object', async () => {
        const stored = await put('b', 'empty', Buffer.alloc(0));
        expect(stored.size).toBe(0);
        expect(stored.etag).toBe('D41D8CD98F00B204E9800998ECF8427E');
        expect(stored.crc64).toBe('0');
        expect((await get('b', 'empty')).data.length).toBe(0);
      });

      it('overwrites an object with new data and metadata', async () => {
        await put('b', 'k', 'first', { contentType: 'text/plain', userMeta: { a: '1' } });
        const second = await put('b', 'k', 'second!', { contentType: 'image/png', userMeta: {} });
        expect((await get('b', 'k')).data.toString()).toBe('second!');
        expect(await store.headObject('b', 'k')).toEqual(second);
        expect((await store.listObjects('b', { maxKeys: 10 })).objects.map((o) => o.key)).toEqual(['k']);
      });

      it('serves byte ranges', async () => {
        const data = bytes(1000);
        await put('b', 'k', data);
        expect((await get('b', 'k', { start: 0, end: 0 })).data.equals(data.subarray(0, 1))).toBe(true);
        expect((await get('b', 'k', { start: 10, end: 99 })).data.equals(data.subarray(10, 100))).toBe(true);
        expect((await get('b', 'k', { start: 999, end: 999 })).data.equals(data.subarray(999))).toBe(true);
        const { object, data: all } = await get('b', 'k', { start: 0, end: 999 });
        expect(all.equals(data)).toBe(true);
        expect(object.size).toBe(1000);
      });

      it('streams a body that arrives in many chunks', async () => {
        const data = bytes(3 * 1024 * KiB + 7, 3);
        const chunks: Buffer[] = [];
        for (let i = 0; i < data.length; i += 65_536) chunks.push(data.subarray(i, i + 65_536));
        const stored = await store.putObject('b', 'big', Readable.from(chunks), { meta: META });
        expect(stored.size).toBe(data.length);
        expect(stored.crc64).toBe(crc64(data));
        expect(stored.etag).toBe(md5Etag(data));
        expect((await get('b', 'big')).data.equals(data)).toBe(true);
        const mid = await get('b', 'big', { start: 1_000_000, end: 2_500_000 });
        expect(mid.data.equals(data.subarray(1_000_000, 2_500_001))).toBe(true);
      });

      it('answers NoSuchKey for a missing object', async () => {
        await expectOssError(store.headObject('b', 'missing'), 'NoSuchKey');
        await expectOssError(store.getObject('b', 'missing'), 'NoSuchKey');
      });

      it('deletes idempotently', async () => {
        await put('b', 'k', 'x');
        await store.deleteObject('b', 'k');
        await expectOssError(store.headObject('b', 'k'), 'NoSuchKey');
        await store.deleteObject('b', 'k');
        await store.deleteObject('b', 'never-existed');
      });

      it('a stream already opened survives a delete and an overwrite of its object', async () => {
        const data = bytes(200 * KiB, 5);
        await put('b', 'k', data);
        const open = await store.getObject('b', 'k');
        await store.deleteObject('b', 'k');
        await put('b', 'k', 'replacement');
        expect((await readAll(open.body)).equals(data)).toBe(true);
      });

      it('round-trips unusual keys', async () => {
        const keys = [
          'with space',
          ' leading and trailing ',
          'ünïcødé/日本語/😀',
          '..',
          '../escape',
          'a/../../b',
          'trailing/',
          'double//slash',
          '100%',
          '%2F%20',
          'a+b',
          'tab\there',
          'x'.repeat(1023),
          'é'.repeat(511),
        ];
        for (const [i, key] of keys.entries()) await put('b', key, `body ${i}`);
        for (const [i, key] of keys.entries()) {
          expect((await get('b', key)).data.toString()).toBe(`body ${i}`);
          expect((await store.headObject('b', key)).key).toBe(key);
        }
        const listed = (await store.listObjects('b', { maxKeys: 1000 })).objects.map((o) => o.key);
        expect(listed).toEqual([...keys].sort(byteOrder));
      });

      it('fails with EntityTooLarge past maxSize and keeps the old object', async () => {
        await put('b', 'k', 'old');
        await expectOssError(
          store.putObject('b', 'k', body(bytes(101)), { meta: META, maxSize: 100 }),
          'EntityTooLarge',
        );
        await expectOssError(
          store.putObject('b', 'new', body(bytes(101)), { meta: META, maxSize: 100 }),
          'EntityTooLarge',
        );
        expect((await get('b', 'k')).data.toString()).toBe('old');
        await expectOssError(store.headObject('b', 'new'), 'NoSuchKey');
        const exact = await store.putObject('b', 'k', body(bytes(100)), { meta: META, maxSize: 100 });
        expect(exact.size).toBe(100);
      });

      it('stops reading at maxSize without waiting for the rest of the body', async () => {
        let produced = 0;
        const endless = Readable.from(
          (async function* () {
            for (;;) {
              produced += 16 * KiB;
              yield Buffer.alloc(16 * KiB);
            }
          })(),
        );
        await expectOssError(
          store.putObject('b', 'k', endless, { meta: META, maxSize: 64 * KiB }),
          'EntityTooLarge',
        );
        expect(produced).toBeLessThan(1024 * KiB);
        await expectOssError(store.headObject('b', 'k'), 'NoSuchKey');
      });

      it('passes the pending object to beforeCommit; a throw leaves the old object intact', async () => {
        const old = await put('b', 'k', 'old', { contentType: 'text/plain', userMeta: { v: '1' } });
        let seen: StoredObject | undefined;
        const failure = new Error('BadDigest from the HTTP layer');
        await expect(
          store.putObject('b', 'k', body('new data'), {
            meta: { contentType: 'x/y', userMeta: { v: '2' } },
            beforeCommit: (pending) => {
              seen = pending;
              throw failure;
            },
          }),
        ).rejects.toBe(failure);
        expect(seen).toMatchObject({ key: 'k', size: 8, etag: md5Etag(Buffer.from('new data')) });
        expect(await store.headObject('b', 'k')).toEqual(old);
        expect((await get('b', 'k')).data.toString()).toBe('old');
        await expect(
          store.putObject('b', 'fresh', body('x'), {
            meta: META,
            beforeCommit: async () => {
              await Promise.resolve();
              throw failure;
            },
          }),
        ).rejects.toBe(failure);
        await expectOssError(store.headObject('b', 'fresh'), 'NoSuchKey');
        expect((await store.listObjects('b', { maxKeys: 10 })).objects.map((o) => o.key)).toEqual(['k']);
      });

      it('reports the body digests to onReceived once, before beforeCommit, equal to the stored ones', async () => {
        // Large enough to take the CRC-64 worker path where a backend uses it, small enough to stay fast.
        for (const data of [Buffer.from('callback body'), Buffer.alloc(0), bytes(1536 * KiB, 5)]) {
          const events: string[] = [];
          const received: ReceivedDigests[] = [];
          const stored = await store.putObject('b', 'k', body(data), {
            meta: META,
            onReceived: (digests) => {
              events.push('received');
              received.push(digests);
            },
            beforeCommit: () => {
              events.push('beforeCommit');
            },
          });
          expect(events).toEqual(['received', 'beforeCommit']);
          expect(received).toEqual([
            { size: stored.size, etag: stored.etag, contentMd5: stored.contentMd5, crc64: stored.crc64 },
          ]);
          expect(received[0]).toEqual({
            size: data.length,
            etag: md5Etag(data),
            contentMd5: createHash('md5').update(data).digest('base64'),
            crc64: crc64(data),
          });
        }
      });

      it('onReceived has fired when beforeCommit rejects the body, and nothing is stored', async () => {
        const old = await put('b', 'k', 'old');
        const failure = new Error('BadDigest from the HTTP layer');
        const events: string[] = [];
        let digests: ReceivedDigests | undefined;
        await expect(
          store.putObject('b', 'k', body('new data'), {
            meta: META,
            onReceived: (d) => {
              events.push('received');
              digests = d;
            },
            beforeCommit: () => {
              events.push('beforeCommit');
              throw failure;
            },
          }),
        ).rejects.toBe(failure);
        expect(events).toEqual(['received', 'beforeCommit']);
        expect(digests).toMatchObject({ size: 8, etag: md5Etag(Buffer.from('new data')) });
        expect(await store.headObject('b', 'k')).toEqual(old);
        expect((await get('b', 'k')).data.toString()).toBe('old');
        expect((await store.listObjects('b', { maxKeys: 10 })).objects.map((o) => o.key)).toEqual(['k']);
      });

      it('does not call onReceived when the body fails or is too large; a throwing hook stores anyway', async () => {
        let calls = 0;
        const onReceived = (): void => {
          calls++;
        };
        await expect(
          store.putObject('b', 'k', failingBody(bytes(10)), { meta: META, onReceived }),
        ).rejects.toThrow();
        await expectOssError(
          store.putObject('b', 'k', body(bytes(100)), { meta: META, maxSize: 99, onReceived }),
          'EntityTooLarge',
        );
        expect(calls).toBe(0);
        await expectOssError(store.headObject('b', 'k'), 'NoSuchKey');

        const stored = await store.putObject('b', 'k', body('kept'), {
          meta: META,
          onReceived: () => {
            throw new Error('hook bug');
          },
        });
        expect(await store.headObject('b', 'k')).toEqual(stored);
        expect((await get('b', 'k')).data.toString()).toBe('kept');
      });

      it('a body that fails mid-way leaves the old object intact and nothing new visible', async () => {
        await put('b', 'k', 'old');
        await expect(
          store.putObject('b', 'k', failingBody(bytes(100 * KiB), bytes(10)), { meta: META }),
        ).rejects.toThrow();
        await expect(store.putObject('b', 'new', failingBody(bytes(10)), { meta: META })).rejects.toThrow();
        expect((await get('b', 'k')).data.toString()).toBe('old');
        await expectOssError(store.headObject('b', 'new'), 'NoSuchKey');
        expect((await store.listObjects('b', { maxKeys: 10 })).objects.map((o) => o.key)).toEqual(['k']);
      });

      it('handles concurrent writes to one key: the result is one of them, whole', async () => {
        const a = bytes(150 * KiB, 11);
        const b = bytes(150 * KiB, 12);
        await Promise.all([put('b', 'k', a), put('b', 'k', b), put('b', 'k', a), put('b', 'k', b)]);
        const { data, object } = await get('b', 'k');
        expect(data.equals(a) || data.equals(b)).toBe(true);
        expect(object.etag).toBe(md5Etag(data));
      });
    });

    describe('copyObject', () => {
      beforeEach(async () => {
        await store.createBucket('b', 'private');
        await store.createBucket('c', 'private');
      });

      it('copies data and metadata (COPY) across buckets', async () => {
        const meta: ObjectMeta = { contentType: 'text/plain', userMeta: { a: '1' } };
        const src = await put('b', 'src', 'payload', meta);
        const copy = await store.copyObject({ bucket: 'b', key: 'src' }, 'c', 'dst');
        expect(copy).toMatchObject({
          bucket: 'c',
          key: 'dst',
          size: 7,
          etag: src.etag,
          crc64: src.crc64,
          meta,
        });
        expect((await get('c', 'dst')).data.toString()).toBe('payload');
        expect(await store.headObject('c', 'dst')).toEqual(copy);
      });

      it('replaces metadata when given (REPLACE)', async () => {
        await put('b', 'src', 'payload', { contentType: 'text/plain', userMeta: { a: '1' } });
        const meta: ObjectMeta = {
          contentType: 'image/png',
          cacheControl: 'max-age=5',
          userMeta: { b: '2' },
        };
        const copy = await store.copyObject({ bucket: 'b', key: 'src' }, 'b', 'dst', meta);
        expect(copy.meta).toEqual(meta);
        expect((await store.headObject('b', 'src')).meta.userMeta).toEqual({ a: '1' });
      });

      it('copies an object onto itself, updating metadata and keeping data', async () => {
        const src = await put('b', 'k', 'payload', { contentType: 'text/plain', userMeta: {} });
        const meta: ObjectMeta = { contentType: 'text/html', userMeta: { new: 'yes' } };
        const copy = await store.copyObject({ bucket: 'b', key: 'k' }, 'b', 'k', meta);
        expect(copy.etag).toBe(src.etag);
        expect(await store.headObject('b', 'k')).toEqual(copy);
        expect((await get('b', 'k')).data.toString()).toBe('payload');
        await store.copyObject({ bucket: 'b', key: 'k' }, 'b', 'k');
        expect((await get('b', 'k')).data.toString()).toBe('payload');
      });

      it('answers NoSuchKey for a missing source', async () => {
        await expectOssError(store.copyObject({ bucket: 'b', key: 'missing' }, 'b', 'dst'), 'NoSuchKey');
      });

      it('a copy survives deleting or overwriting its source, and vice versa', async () => {
        const data = bytes(300 * KiB, 7);
        await put('b', 'src', data);
        await store.copyObject({ bucket: 'b', key: 'src' }, 'b', 'copy1');
        await store.copyObject({ bucket: 'b', key: 'src' }, 'c', 'copy2');
        await store.deleteObject('b', 'src');
        expect((await get('b', 'copy1')).data.equals(data)).toBe(true);
        await put('b', 'copy1', 'overwritten');
        expect((await get('c', 'copy2')).data.equals(data)).toBe(true);
        await store.copyObject({ bucket: 'c', key: 'copy2' }, 'b', 'copy3');
        await store.deleteObject('c', 'copy2');
        expect(
          (await get('b', 'copy3', { start: 5, end: 200_000 })).data.equals(data.subarray(5, 200_001)),
        ).toBe(true);
      });
    });

    describe('forbidOverwrite: a precondition of the commit', () => {
      beforeEach(async () => {
        await store.createBucket('b', 'private');
      });

      /** The outcome of each settled write: 'ok' or its error code. */
      function outcomes(results: PromiseSettledResult<unknown>[]): string[] {
        return results.map((r) =>
          r.status === 'fulfilled' ? 'ok' : isOssError(r.reason) ? r.reason.code : String(r.reason),
        );
      }

      it('putObject refuses an existing key with FileAlreadyExists and keeps it; without it, overwrites', async () => {
        await put('b', 'k', 'original');
        const refused = store.putObject('b', 'k', body('replacement'), { meta: META, forbidOverwrite: true });
        await expectOssError(refused, 'FileAlreadyExists');
        await refused.catch((error: unknown) => {
          expect(error).toMatchObject({ status: 409, details: { Key: 'k' } });
        });
        expect((await get('b', 'k')).data.toString()).toBe('original');
        await store.putObject('b', 'k', body('second'), { meta: META, forbidOverwrite: false });
        expect((await get('b', 'k')).data.toString()).toBe('second');
        await store.putObject('b', 'new', body('first'), { meta: META, forbidOverwrite: true });
        expect((await get('b', 'new')).data.toString()).toBe('first');
      });

      it('of racing putObjects to a new key, exactly one succeeds and the object is its whole body', async () => {
        // Every body is still arriving when each write starts, so a check made only before the body
        // is read lets them all through; only the check at the commit tells them apart.
        const datas = [1, 2, 3, 4].map((seed) => bytes(64 * KiB + seed, 40 + seed));
        const results = await Promise.allSettled(
          datas.map((data, i) =>
            store.putObject('b', 'race', slowBody(data, 4, 5 + i * 7), { meta: META, forbidOverwrite: true }),
          ),
        );
        const codes = outcomes(results);
        expect(codes.filter((c) => c === 'ok')).toHaveLength(1);
        expect(codes.filter((c) => c === 'FileAlreadyExists')).toHaveLength(3);
        const winner = codes.indexOf('ok');
        const stored = await get('b', 'race');
        expect(stored.data.equals(datas[winner]!)).toBe(true);
        expect(stored.object.etag).toBe((results[winner] as PromiseFulfilledResult<StoredObject>).value.etag);
        expect((await store.listObjects('b', { maxKeys: 10 })).objects.map((o) => o.key)).toEqual(['race']);
      });

      it('two putObjects racing with bodies that end together: one wins, the other is refused', async () => {
        const a = bytes(200 * KiB, 51);
        const b = bytes(200 * KiB, 52);
        const results = await Promise.allSettled([
          store.putObject('b', 'tie', slowBody(a, 8, 3), { meta: META, forbidOverwrite: true }),
          store.putObject('b', 'tie', slowBody(b, 8, 3), { meta: META, forbidOverwrite: true }),
        ]);
        expect(outcomes(results).sort()).toEqual(['FileAlreadyExists', 'ok']);
        const data = (await get('b', 'tie')).data;
        expect(data.equals(results[0].status === 'fulfilled' ? a : b)).toBe(true);
      });

      it('copyObject refuses an existing target, itself included; racing copies to a new key: one wins', async () => {
        await put('b', 'src', 'source');
        await put('b', 'taken', 'taken');
        const forbid = { forbidOverwrite: true };
        await expectOssError(
          store.copyObject({ bucket: 'b', key: 'src' }, 'b', 'taken', undefined, undefined, forbid),
          'FileAlreadyExists',
        );
        expect((await get('b', 'taken')).data.toString()).toBe('taken');
        await expectOssError(
          store.copyObject(
            { bucket: 'b', key: 'src' },
            'b',
            'src',
            { ...META, userMeta: { v: '2' } },
            {},
            forbid,
          ),
          'FileAlreadyExists',
        );
        expect((await store.headObject('b', 'src')).meta.userMeta).toEqual({});
        await put('b', 'other', 'other source');
        const results = await Promise.allSettled([
          store.copyObject({ bucket: 'b', key: 'src' }, 'b', 'dst', undefined, undefined, forbid),
          store.copyObject({ bucket: 'b', key: 'other' }, 'b', 'dst', undefined, undefined, forbid),
        ]);
        expect(outcomes(results).sort()).toEqual(['FileAlreadyExists', 'ok']);
        expect((await get('b', 'dst')).data.toString()).toBe(
          results[0].status === 'fulfilled' ? 'source' : 'other source',
        );
        await store.copyObject({ bucket: 'b', key: 'other' }, 'b', 'dst', undefined, undefined, {});
        expect((await get('b', 'dst')).data.toString()).toBe('other source');
      });

      it('complete refuses an existing object and keeps the upload; of racing completes to a new key one wins', async () => {
        const part = bytes(1000, 61);
        await put('b', 'taken', 'taken');
        const upload = await store.multipart.initiate('b', 'taken', META);
        const r1 = await store.multipart.uploadPart(upload, 1, body(part));
        const parts = [{ partNumber: 1, etag: r1.etag }];
        await expectOssError(
          store.multipart.complete(upload, parts, { forbidOverwrite: true }),
          'FileAlreadyExists',
        );
        expect((await get('b', 'taken')).data.toString()).toBe('taken');
        expect((await store.multipart.listParts(upload, 0, 10)).parts).toHaveLength(1);
        await store.multipart.complete(upload, parts, { forbidOverwrite: false });
        expect((await get('b', 'taken')).data.equals(part)).toBe(true);

        const uploads = await Promise.all([1, 2].map(() => store.multipart.initiate('b', 'fresh', META)));
        const records = await Promise.all(
          uploads.map((u, i) => store.multipart.uploadPart(u, 1, body(bytes(1000, 70 + i)))),
        );
        const results = await Promise.allSettled(
          uploads.map((u, i) =>
            store.multipart.complete(u, [{ partNumber: 1, etag: records[i]!.etag }], {
              forbidOverwrite: true,
            }),
          ),
        );
        expect(outcomes(results).sort()).toEqual(['FileAlreadyExists', 'ok']);
        const winner = results[0]!.status === 'fulfilled' ? 0 : 1;
        expect((await get('b', 'fresh')).data.equals(bytes(1000, 70 + winner))).toBe(true);
        const left = await store.multipart.listUploads('b', { maxUploads: 10 });
        expect(left.uploads.map((u) => u.uploadId)).toEqual([uploads[1 - winner]!.uploadId]);
        await store.multipart.abort(uploads[1 - winner]!);
      });
    });

    describe('appendObject', () => {
      beforeEach(async () => {
        await store.createBucket('b', 'private');
      });

      it('creates at position 0 and appends at the current length', async () => {
        const meta: ObjectMeta = { contentType: 'text/plain', userMeta: { first: '1' } };
        const first = await store.appendObject('b', 'log', 0, body('hello '), { meta });
        expect(first).toMatchObject({
          size: 6,
          type: 'Appendable',
          crc64: crc64(Buffer.from('hello ')),
          meta,
        });
        expect(first.etag).toBe(md5Etag(Buffer.from('hello ')));
        const second = await store.appendObject('b', 'log', 6, body('world'), {
          meta: { contentType: 'x/ignored', userMeta: {} },
        });
        expect(second.size).toBe(11);
        expect(second.crc64).toBe(crc64(Buffer.from('hello world')));
        expect(second.meta).toEqual(meta);
        expect(second.etag).toMatch(/^[0-9A-F]{32}$/);
        expect(second.etag).not.toBe(first.etag);
        expect((await get('b', 'log')).data.toString()).toBe('hello world');
        expect((await get('b', 'log', { start: 4, end: 7 })).data.toString()).toBe('o wo');
        expect(await store.headObject('b', 'log')).toEqual(second);
      });

      it('refuses a position other than the current length', async () => {
        await expectOssError(
          store.appendObject('b', 'log', 3, body('x'), { meta: META }),
          'PositionNotEqualToLength',
        );
        await expectOssError(store.headObject('b', 'log'), 'NoSuchKey');
        await store.appendObject('b', 'log', 0, body('abc'), { meta: META });
        await expectOssError(
          store.appendObject('b', 'log', 0, body('x'), { meta: META }),
          'PositionNotEqualToLength',
        );
        await expectOssError(
          store.appendObject('b', 'log', 4, body('x'), { meta: META }),
          'PositionNotEqualToLength',
        );
        expect((await get('b', 'log')).data.toString()).toBe('abc');
      });

      it('refuses to append to a Normal object; a put turns an appendable object Normal', async () => {
        await put('b', 'k', 'abc');
        await expectOssError(
          store.appendObject('b', 'k', 3, body('x'), { meta: META }),
          'ObjectNotAppendable',
        );
        await store.appendObject('b', 'log', 0, body('abc'), { meta: META });
        const replaced = await put('b', 'log', 'normal now');
        expect(replaced.type).toBe('Normal');
        await expectOssError(
          store.appendObject('b', 'log', 10, body('x'), { meta: META }),
          'ObjectNotAppendable',
        );
      });

      it('a failed append (stream error, beforeCommit, maxSize) leaves the object as it was', async () => {
        const first = await store.appendObject('b', 'log', 0, body('abc'), { meta: META });
        await expect(
          store.appendObject('b', 'log', 3, failingBody(bytes(50)), { meta: META }),
        ).rejects.toThrow();
        await expect(
          store.appendObject('b', 'log', 3, body('def'), {
            meta: META,
            beforeCommit: () => {
              throw new Error('no');
            },
          }),
        ).rejects.toThrow('no');
        await expectOssError(
          store.appendObject('b', 'log', 3, body('defg'), { meta: META, maxSize: 3 }),
          'EntityTooLarge',
        );
        expect(await store.headObject('b', 'log')).toEqual(first);
        const next = await store.appendObject('b', 'log', 3, body('def'), { meta: META });
        expect(next.size).toBe(6);
        expect((await get('b', 'log')).data.toString()).toBe('abcdef');
      });

      it('lets exactly one of two racing appends at the same position win', async () => {
        await store.appendObject('b', 'log', 0, body('abc'), { meta: META });
        const results = await Promise.allSettled([
          store.appendObject('b', 'log', 3, body('111'), { meta: META }),
          store.appendObject('b', 'log', 3, body('222'), { meta: META }),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const data = (await get('b', 'log')).data.toString();
        expect(['abc111', 'abc222']).toContain(data);
      });

      it('serves any range of an object built from many segments (property)', async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 6 }),
            fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 5 }),
            async (sizes, picks) => {
              const key = `seg-${run++}`;
              const pieces = sizes.map((size, i) => bytes(size, run * 10 + i + 1));
              let position = 0;
              for (const piece of pieces) {
                await store.appendObject('b', key, position, body(piece), { meta: META });
                position += piece.length;
              }
              const all = Buffer.concat(pieces);
              const head = await store.headObject('b', key);
              expect(head.size).toBe(all.length);
              expect(head.crc64).toBe(crc64(all));
              expect((await get('b', key)).data.equals(all)).toBe(true);
              if (all.length === 0) return;
              for (const [a, b] of picks) {
                const start = a % all.length;
                const end = start + (b % (all.length - start));
                expect((await get('b', key, { start, end })).data.equals(all.subarray(start, end + 1))).toBe(
                  true,
                );
              }
            },
          ),
          { numRuns: 15 },
        );
      });

      it('an appendable object can be copied and deleted', async () => {
        await store.appendObject('b', 'log', 0, body('abc'), { meta: META });
        await store.appendObject('b', 'log', 3, body('def'), { meta: META });
        await store.copyObject({ bucket: 'b', key: 'log' }, 'b', 'copy');
        await store.deleteObject('b', 'log');
        expect((await get('b', 'copy')).data.toString()).toBe('abcdef');
        await expectOssError(store.headObject('b', 'log'), 'NoSuchKey');
      });
    });

    describe('listObjects', () => {
      const keys = ['a', 'a/1', 'a/2', 'a/b/1', 'a/b/2', 'ab', 'b/1', 'b/2', 'c', 'd/e/f'];
      beforeEach(async () => {
        await store.createBucket('b', 'private');
        for (const key of keys) await put('b', key, key);
      });

      it('lists every key in order with sizes and etags', async () => {
        const page = await store.listObjects('b', { maxKeys: 1000 });
        expect(page.objects.map((o) => o.key)).toEqual(keys);
        expect(page.isTruncated).toBe(false);
        // A plain scan: nothing folded, nothing to resume from but the last key.
        expect(Object.keys(page).sort()).toEqual(['isTruncated', 'objects']);
        const first = page.objects[1]!;
        expect(first).toMatchObject({ size: 3, etag: md5Etag(Buffer.from('a/1')), type: 'Normal' });
        expect(first.lastModified).toBeInstanceOf(Date);
      });

      it('filters by prefix and starts after `after`', async () => {
        expect(
          (await store.listObjects('b', { prefix: 'a/', maxKeys: 100 })).objects.map((o) => o.key),
        ).toEqual(['a/1', 'a/2', 'a/b/1', 'a/b/2']);
        expect(
          (await store.listObjects('b', { after: 'a/b/1', maxKeys: 100 })).objects.map((o) => o.key),
        ).toEqual(['a/b/2', 'ab', 'b/1', 'b/2', 'c', 'd/e/f']);
        expect(
          (await store.listObjects('b', { prefix: 'a/', after: 'a/2', maxKeys: 100 })).objects.map(
            (o) => o.key,
          ),
        ).toEqual(['a/b/1', 'a/b/2']);
        // `after` before the prefix starts at the prefix; `after` past it leaves nothing.
        expect(
          (await store.listObjects('b', { prefix: 'b/', after: 'a', maxKeys: 100 })).objects.map(
            (o) => o.key,
          ),
        ).toEqual(['b/1', 'b/2']);
        expect((await store.listObjects('b', { prefix: 'a/', after: 'a0', maxKeys: 100 })).objects).toEqual(
          [],
        );
        // `after` need not be a stored key, and is exclusive when it is one.
        expect(
          (await store.listObjects('b', { after: 'a/b/', maxKeys: 100 })).objects.map((o) => o.key),
        ).toEqual(['a/b/1', 'a/b/2', 'ab', 'b/1', 'b/2', 'c', 'd/e/f']);
        expect(
          (await store.listObjects('b', { after: 'c', maxKeys: 100 })).objects.map((o) => o.key),
        ).toEqual(['d/e/f']);
        expect((await store.listObjects('b', { prefix: 'zzz', maxKeys: 100 })).objects).toEqual([]);
        expect((await store.listObjects('b', { after: 'zzz', maxKeys: 100 })).objects).toEqual([]);
      });

      it("scans keys without folding them: a delimiter is the server's business", async () => {
        // The keys under `a/` come one by one, in order, however many share a "directory".
        const page = await store.listObjects('b', { after: 'a', maxKeys: 5 });
        expect(page.objects.map((o) => o.key)).toEqual(['a/1', 'a/2', 'a/b/1', 'a/b/2', 'ab']);
        expect(page.isTruncated).toBe(true);
      });

      it('truncates at maxKeys, and resumes after the last key returned', async () => {
        const exact = await store.listObjects('b', { maxKeys: keys.length });
        expect(exact.isTruncated).toBe(false);
        const short = await store.listObjects('b', { maxKeys: keys.length - 1 });
        expect(short.objects.map((o) => o.key)).toEqual(keys.slice(0, -1));
        expect(short.isTruncated).toBe(true);
        const one = await store.listObjects('b', { maxKeys: 1 });
        expect(one.objects.map((o) => o.key)).toEqual(['a']);
        expect(one.isTruncated).toBe(true);
        const last = await store.listObjects('b', { after: keys[keys.length - 2]!, maxKeys: 1 });
        expect(last.objects.map((o) => o.key)).toEqual([keys[keys.length - 1]]);
        expect(last.isTruncated).toBe(false);
        const inPrefix = await store.listObjects('b', { prefix: 'b/', maxKeys: 1 });
        expect(inPrefix.objects.map((o) => o.key)).toEqual(['b/1']);
        expect(inPrefix.isTruncated).toBe(true);
        // Keys after the prefix's range do not count as "more".
        const prefixEnd = await store.listObjects('b', { prefix: 'b/', after: 'b/1', maxKeys: 1 });
        expect(prefixEnd.objects.map((o) => o.key)).toEqual(['b/2']);
        expect(prefixEnd.isTruncated).toBe(false);
        const maxPage = await store.listObjects('b', { maxKeys: 1000 });
        expect(maxPage.objects).toHaveLength(keys.length);
      });

      it('orders keys by UTF-8 bytes, not UTF-16 code units', async () => {
        // U+E000 is EE 80 80 in UTF-8, U+1F600 is F0 9F 98 80; UTF-16 puts the emoji's surrogate first.
        await put('b', 'u/\u{1F600}', 'x');
        await put('b', 'u/\uE000', 'x');
        await put('b', 'u/\u00E9', 'x');
        await put('b', 'u/z', 'x');
        const page = await store.listObjects('b', { prefix: 'u/', maxKeys: 100 });
        expect(page.objects.map((o) => o.key)).toEqual(['u/z', 'u/\u00E9', 'u/\uE000', 'u/\u{1F600}']);
        const after = await store.listObjects('b', { prefix: 'u/', after: 'u/\uE000', maxKeys: 100 });
        expect(after.objects.map((o) => o.key)).toEqual(['u/\u{1F600}']);
        const truncated = await store.listObjects('b', { prefix: 'u/', after: 'u/\u00E9', maxKeys: 1 });
        expect(truncated.objects.map((o) => o.key)).toEqual(['u/\uE000']);
        expect(truncated.isTruncated).toBe(true);
      });

      it('pages through any key set exactly as one full scan (property)', async () => {
        await store.createBucket('p', 'private');
        const alphabet = fc.constantFrom('a', 'b', '/', '-', 'é', '\uE000', '😀', ' ');
        const key = fc.string({ unit: alphabet, minLength: 1, maxLength: 6 });
        let created = new Set<string>();
        await fc.assert(
          fc.asyncProperty(
            fc.uniqueArray(key, { minLength: 0, maxLength: 25 }),
            fc.option(fc.constantFrom('a', 'b/', 'é', '\uE000'), { nil: undefined }),
            fc.option(fc.string({ unit: alphabet, maxLength: 4 }), { nil: undefined }),
            fc.integer({ min: 1, max: 6 }),
            async (keySet, prefix, start, maxKeys) => {
              for (const k of created) if (!keySet.includes(k)) await store.deleteObject('p', k);
              for (const k of keySet) if (!created.has(k)) await put('p', k, k);
              created = new Set(keySet);
              const q = { ...(prefix ? { prefix } : {}) };
              const full = await store.listObjects('p', { ...q, maxKeys: 1000 });
              expect(full.objects.map((o) => o.key)).toEqual(modelScan(keySet, { ...q, maxKeys: 1000 }).keys);
              // Any starting point, as a marker a client sends need not be a stored key.
              const from = { ...q, maxKeys, ...(start === undefined ? {} : { after: start }) };
              const one = await store.listObjects('p', from);
              const model = modelScan(keySet, from);
              expect({ keys: one.objects.map((o) => o.key), isTruncated: one.isTruncated }).toEqual(model);
              const paged: string[] = [];
              let after: string | undefined;
              for (let guard = 0; guard < 100; guard++) {
                const page = await store.listObjects('p', {
                  ...q,
                  maxKeys,
                  ...(after === undefined ? {} : { after }),
                });
                expect(page.objects.length).toBeLessThanOrEqual(maxKeys);
                paged.push(...page.objects.map((o) => o.key));
                if (!page.isTruncated) break;
                expect(page.objects).toHaveLength(maxKeys);
                after = page.objects[page.objects.length - 1]!.key;
              }
              expect(paged).toEqual(modelScan(keySet, { ...q, maxKeys: 1000 }).keys);
            },
          ),
          { numRuns: 30 },
        );
      });
    });

    describe('object ACL and tags', () => {
      const TAGS = [
        { key: 'z', value: '1' },
        { key: 'a', value: '' },
        { key: '10', value: 'x y/é' },
      ];

      beforeEach(async () => {
        await store.createBucket('b', 'private');
      });

      it('a plain put is default with no tags; settings given to put are stored in order', async () => {
        expect(await put('b', 'plain', 'x')).toMatchObject({ acl: 'default', tags: [] });
        const object = await store.putObject('b', 'set', body('x'), {
          meta: META,
          settings: { acl: 'public-read', tags: TAGS },
        });
        expect(object).toMatchObject({ acl: 'public-read', tags: TAGS });
        expect(await store.headObject('b', 'set')).toEqual(object);
        expect((await get('b', 'set')).object).toEqual(object);
        expect((await store.listObjects('b', { maxKeys: 10 })).objects.find((o) => o.key === 'set')).toEqual(
          object,
        );
      });

      it('setObjectAcl and setObjectTags change only those fields, not the data or lastModified', async () => {
        const before = await put('b', 'k', 'payload');
        await store.setObjectAcl('b', 'k', 'public-read-write');
        await store.setObjectTags('b', 'k', TAGS);
        const after = await store.headObject('b', 'k');
        expect(after).toEqual({ ...before, acl: 'public-read-write', tags: TAGS });
        await store.setObjectTags('b', 'k', []);
        await store.setObjectAcl('b', 'k', 'default');
        expect(await store.headObject('b', 'k')).toEqual(before);
        expect((await get('b', 'k')).data.toString()).toBe('payload');
      });

      it('setObjectAcl / setObjectTags answer NoSuchKey and NoSuchBucket', async () => {
        await expectOssError(store.setObjectAcl('b', 'missing', 'private'), 'NoSuchKey');
        await expectOssError(store.setObjectTags('b', 'missing', []), 'NoSuchKey');
        await expectOssError(store.setObjectAcl('nope', 'k', 'private'), 'NoSuchBucket');
        await expectOssError(store.setObjectTags('nope', 'k', []), 'NoSuchBucket');
      });

      it("an overwrite replaces the ACL and tags with the new upload's", async () => {
        await store.putObject('b', 'k', body('1'), { meta: META, settings: { acl: 'private', tags: TAGS } });
        expect(await put('b', 'k', '2')).toMatchObject({ acl: 'default', tags: [] });
      });

      it('copy: tags copied unless replaced; ACL as given, else default (kept onto itself)', async () => {
        await store.putObject('b', 'src', body('x'), {
          meta: META,
          settings: { acl: 'public-read', tags: TAGS },
        });
        expect(await store.copyObject({ bucket: 'b', key: 'src' }, 'b', 'copied')).toMatchObject({
          acl: 'default',
          tags: TAGS,
        });
        const replaced = await store.copyObject({ bucket: 'b', key: 'src' }, 'b', 'replaced', undefined, {
          acl: 'private',
          tags: [{ key: 'new', value: 'v' }],
        });
        expect(replaced).toMatchObject({ acl: 'private', tags: [{ key: 'new', value: 'v' }] });
        expect(await store.headObject('b', 'replaced')).toEqual(replaced);
        const self = await store.copyObject({ bucket: 'b', key: 'src' }, 'b', 'src', {
          contentType: 'text/plain',
          userMeta: {},
        });
        expect(self).toMatchObject({ acl: 'public-read', tags: TAGS });
        expect(await store.headObject('b', 'src')).toEqual(self);
        const retagged = await store.copyObject({ bucket: 'b', key: 'src' }, 'b', 'src', undefined, {
          tags: [],
        });
        expect(retagged).toMatchObject({ acl: 'public-read', tags: [] });
      });

      it('append: tags from the creating append; an ACL from any append that names one', async () => {
        await store.appendObject('b', 'log', 0, body('a'), { meta: META, settings: { tags: TAGS } });
        const second = await store.appendObject('b', 'log', 1, body('b'), {
          meta: META,
          settings: { acl: 'public-read', tags: [] },
        });
        expect(second).toMatchObject({ acl: 'public-read', tags: TAGS });
        const third = await store.appendObject('b', 'log', 2, body('c'), { meta: META });
        expect(third).toMatchObject({ acl: 'public-read', tags: TAGS });
        expect(await store.headObject('b', 'log')).toEqual(third);
      });

      it("multipart: settings given to initiate become the completed object's", async () => {
        const upload = await store.multipart.initiate('b', 'mp', META, { acl: 'private', tags: TAGS });
        const ref = { bucket: 'b', key: 'mp', uploadId: upload.uploadId };
        const part = await store.multipart.uploadPart(ref, 1, body('only part'));
        const object = await store.multipart.complete(ref, [{ partNumber: 1, etag: part.etag }]);
        expect(object).toMatchObject({ acl: 'private', tags: TAGS });
        expect(await store.headObject('b', 'mp')).toEqual(object);
        const plain = await store.multipart.initiate('b', 'mp2', META);
        const plainRef = { bucket: 'b', key: 'mp2', uploadId: plain.uploadId };
        const p1 = await store.multipart.uploadPart(plainRef, 1, body('x'));
        expect(await store.multipart.complete(plainRef, [{ partNumber: 1, etag: p1.etag }])).toMatchObject({
          acl: 'default',
          tags: [],
        });
      });

      it('returns copies: changing a returned tag list does not change the stored one', async () => {
        const object = await store.putObject('b', 'k', body('x'), { meta: META, settings: { tags: TAGS } });
        (object.tags as { key: string; value: string }[]).push({ key: 'extra', value: '' });
        expect((await store.headObject('b', 'k')).tags).toEqual(TAGS);
      });
    });

    describe('storage class and restore', () => {
      const RESTORE = { readyAt: new Date(1_800_000_000_000), expiresAt: new Date(1_800_000_086_400) };

      beforeEach(async () => {
        await store.createBucket('b', 'private');
        await store.createBucket('ia', 'private', 'IA');
      });

      it("an object without a class gets its bucket's; one given is stored and listed", async () => {
        expect((await store.getBucket('b')).storageClass).toBe('Standard');
        expect((await store.getBucket('ia')).storageClass).toBe('IA');
        expect((await store.listBuckets()).map((b) => b.storageClass)).toEqual(['Standard', 'IA']);
        expect(await put('b', 'plain', 'x')).toMatchObject({ storageClass: 'Standard' });
        expect(await put('ia', 'plain', 'x')).toMatchObject({ storageClass: 'IA' });
        const archived = await store.putObject('ia', 'cold', body('x'), {
          meta: META,
          settings: { storageClass: 'Archive' },
        });
        expect(archived.storageClass).toBe('Archive');
        expect(archived.restore).toBeUndefined();
        expect(await store.headObject('ia', 'cold')).toEqual(archived);
        expect((await store.listObjects('ia', { maxKeys: 10 })).objects.map((o) => o.storageClass)).toEqual([
          'Archive',
          'IA',
        ]);
      });

      it('setObjectRestore records the restore without touching data or lastModified', async () => {
        const before = await store.putObject('b', 'cold', body('payload'), {
          meta: META,
          settings: { storageClass: 'ColdArchive' },
        });
        await store.setObjectRestore('b', 'cold', RESTORE);
        const after = await store.headObject('b', 'cold');
        expect(after).toEqual({ ...before, restore: RESTORE });
        expect((await get('b', 'cold')).data.toString()).toBe('payload');
        expect((await store.listObjects('b', { maxKeys: 10 })).objects[0]?.restore).toEqual(RESTORE);
        await expectOssError(store.setObjectRestore('b', 'missing', RESTORE), 'NoSuchKey');
        await expectOssError(store.setObjectRestore('nope', 'k', RESTORE), 'NoSuchBucket');
        // An overwrite is a new object: not restored.
        expect((await put('b', 'cold', 'new')).restore).toBeUndefined();
      });

      it('copy converts the class; without one a new target gets its bucket class, onto itself keeps it', async () => {
        await store.putObject('b', 'src', body('x'), { meta: META, settings: { storageClass: 'Archive' } });
        await store.setObjectRestore('b', 'src', RESTORE);
        const toIa = await store.copyObject({ bucket: 'b', key: 'src' }, 'b', 'ia-copy', undefined, {
          storageClass: 'IA',
        });
        expect(toIa.storageClass).toBe('IA');
        expect(toIa.restore).toBeUndefined();
        expect(await store.copyObject({ bucket: 'b', key: 'src' }, 'ia', 'plain')).toMatchObject({
          storageClass: 'IA',
        });
        const self = await store.copyObject({ bucket: 'b', key: 'src' }, 'b', 'src', META);
        expect(self).toMatchObject({ storageClass: 'Archive', restore: RESTORE });
        const converted = await store.copyObject({ bucket: 'b', key: 'src' }, 'b', 'src', undefined, {
          storageClass: 'Standard',
        });
        expect(converted.storageClass).toBe('Standard');
        expect(converted.restore).toBeUndefined();
        expect(await store.headObject('b', 'src')).toEqual(converted);
      });

      it('append: the creating append decides the class (else the bucket); multipart: initiate decides', async () => {
        await store.appendObject('ia', 'log', 0, body('a'), { meta: META });
        const second = await store.appendObject('ia', 'log', 1, body('b'), {
          meta: META,
          settings: { storageClass: 'Archive' },
        });
        expect(second.storageClass).toBe('IA');
        const upload = await store.multipart.initiate('b', 'mp', META, { storageClass: 'DeepColdArchive' });
        expect(upload.storageClass).toBe('DeepColdArchive');
        const ref = { bucket: 'b', key: 'mp', uploadId: upload.uploadId };
        const part = await store.multipart.uploadPart(ref, 1, body('only part'));
        expect((await store.multipart.listParts(ref, 0, 10)).storageClass).toBe('DeepColdArchive');
        expect((await store.multipart.listUploads('b', { maxUploads: 10 })).uploads[0]?.storageClass).toBe(
          'DeepColdArchive',
        );
        const object = await store.multipart.complete(ref, [{ partNumber: 1, etag: part.etag }]);
        expect(object.storageClass).toBe('DeepColdArchive');
        const plain = await store.multipart.initiate('ia', 'mp', META);
        expect(plain.storageClass).toBe('IA');
      });
    });

    describe('server-side encryption', () => {
      const SSE = { serverSideEncryption: 'AES256' as const };

      beforeEach(async () => {
        await store.createBucket('b', 'private');
      });

      /** Every range of `data` that starts or ends on, beside or across a boundary in `cuts`. */
      async function expectEveryRange(key: string, data: Buffer, cuts: number[]): Promise<void> {
        const points = [0, data.length - 1];
        for (const cut of cuts) points.push(cut - 17, cut - 1, cut, cut + 1, cut + 15, cut + 16);
        const inside = points.filter((p) => p >= 0 && p < data.length);
        for (const start of inside) {
          for (const end of inside) {
            if (end < start) continue;
            const { data: got } = await get('b', key, { start, end });
            expect(got.equals(data.subarray(start, end + 1)), `${key} ${start}-${end}`).toBe(true);
          }
        }
      }

      it('encrypts a PutObject, reports it, and keeps the digests of the plaintext', async () => {
        const data = bytes(70_000, 31);
        const plain = await store.putObject('b', 'plain', body(data), { meta: META });
        const stored = await store.putObject('b', 'secret', body(data), { meta: META, settings: SSE });
        expect(plain.serverSideEncryption).toBeUndefined();
        expect(stored.serverSideEncryption).toBe('AES256');
        expect(stored.etag).toBe(md5Etag(data));
        expect(stored.crc64).toBe(plain.crc64);
        expect(stored.contentMd5).toBe(plain.contentMd5);
        expect(stored.size).toBe(data.length);
        expect((await store.headObject('b', 'secret')).serverSideEncryption).toBe('AES256');
        expect((await get('b', 'secret')).data.equals(data)).toBe(true);
        await expectEveryRange('secret', data, [16, 4096, 65_536]);
        // Listed with it too, and an empty body works.
        const listed = await store.listObjects('b', { maxKeys: 10 });
        expect(listed.objects.find((o) => o.key === 'secret')?.serverSideEncryption).toBe('AES256');
        await store.putObject('b', 'empty', body(''), { meta: META, settings: SSE });
        expect((await get('b', 'empty')).data).toHaveLength(0);
      });

      it('encrypts every append of an object created encrypted, and ranges cross the appends', async () => {
        const pieces = [bytes(5, 41), bytes(17, 42), bytes(40, 43), bytes(1000, 44)];
        let position = 0;
        for (const [i, piece] of pieces.entries()) {
          // Only the creating append asks; later ones are encrypted as the object is.
          const settings = i === 0 ? SSE : {};
          const object = await store.appendObject('b', 'log', position, body(piece), {
            meta: META,
            settings,
          });
          expect(object.serverSideEncryption).toBe('AES256');
          position += piece.length;
        }
        const data = Buffer.concat(pieces);
        expect((await get('b', 'log')).data.equals(data)).toBe(true);
        await expectEveryRange('log', data, [5, 22, 62]);
        // An object created plain stays plain, whatever later appends ask.
        await store.appendObject('b', 'plain-log', 0, body('a'), { meta: META });
        const later = await store.appendObject('b', 'plain-log', 1, body('b'), { meta: META, settings: SSE });
        expect(later.serverSideEncryption).toBeUndefined();
        expect((await get('b', 'plain-log')).data.toString()).toBe('ab');
      });

      it('encrypts the parts of an upload initiated encrypted, and ranges cross the parts', async () => {
        const parts = [bytes(100 * KiB + 7, 51), bytes(100 * KiB + 9, 52), bytes(333, 53)];
        const upload = await store.multipart.initiate('b', 'big', META, SSE);
        const ref = { bucket: 'b', key: 'big', uploadId: upload.uploadId };
        const records: PartRecord[] = [];
        for (const [i, part] of parts.entries())
          records.push(await store.multipart.uploadPart(ref, i + 1, body(part)));
        expect(records[0]!.etag).toBe(md5Etag(parts[0]!));
        const object = await store.multipart.complete(
          ref,
          records.map((r) => ({ partNumber: r.partNumber, etag: r.etag })),
        );
        expect(object.serverSideEncryption).toBe('AES256');
        const data = Buffer.concat(parts);
        expect(object.crc64).toBe(crc64(data));
        expect((await get('b', 'big')).data.equals(data)).toBe(true);
        await expectEveryRange('big', data, [parts[0]!.length, parts[0]!.length + parts[1]!.length]);
      });

      it('copies into the encryption the copy asks for, whatever the source has', async () => {
        const data = bytes(3000, 61);
        await store.putObject('b', 'plain', body(data), { meta: META });
        await store.putObject('b', 'secret', body(data), { meta: META, settings: SSE });
        const cases = [
          ['plain', 'plain-to-secret', SSE, 'AES256'],
          ['secret', 'secret-to-plain', {}, undefined],
          ['secret', 'secret-to-secret', SSE, 'AES256'],
          ['plain', 'plain-to-plain', {}, undefined],
        ] as const;
        for (const [from, to, settings, expected] of cases) {
          const copied = await store.copyObject({ bucket: 'b', key: from }, 'b', to, undefined, settings);
          expect(copied.serverSideEncryption, to).toBe(expected);
          expect(copied.etag, to).toBe(md5Etag(data));
          expect((await store.headObject('b', to)).serverSideEncryption, to).toBe(expected);
          expect((await get('b', to)).data.equals(data), to).toBe(true);
          expect(
            (await get('b', to, { start: 1000, end: 2047 })).data.equals(data.subarray(1000, 2048)),
          ).toBe(true);
        }
        // Onto itself, both ways; the source of a copy is never changed by it.
        await store.copyObject({ bucket: 'b', key: 'plain' }, 'b', 'plain', undefined, SSE);
        expect((await store.headObject('b', 'plain')).serverSideEncryption).toBe('AES256');
        await store.copyObject({ bucket: 'b', key: 'secret' }, 'b', 'secret', undefined, {});
        expect((await store.headObject('b', 'secret')).serverSideEncryption).toBeUndefined();
        expect((await get('b', 'plain')).data.equals(data)).toBe(true);
        expect((await get('b', 'secret')).data.equals(data)).toBe(true);
        expect((await get('b', 'secret-to-secret')).data.equals(data)).toBe(true);
      });

      it('keeps a bucket default encryption, replaces and deletes it', async () => {
        expect(await store.getBucketSetting('b', 'encryption')).toBeUndefined();
        await store.putBucketSetting('b', 'encryption', { algorithm: 'AES256' });
        expect(await store.getBucketSetting('b', 'encryption')).toEqual({ algorithm: 'AES256' });
        await store.putBucketSetting('b', 'encryption', undefined);
        expect(await store.getBucketSetting('b', 'encryption')).toBeUndefined();
        await expectOssError(store.getBucketSetting('nope', 'encryption'), 'NoSuchBucket');
        await expectOssError(store.putBucketSetting('nope', 'encryption', undefined), 'NoSuchBucket');
      });
    });

    describe('multipart', () => {
      const part1 = bytes(100 * KiB, 21);
      const part2 = bytes(150 * KiB + 3, 22);
      const part3 = bytes(1000, 23);

      beforeEach(async () => {
        await store.createBucket('b', 'private');
      });

      it('initiates, uploads parts and completes into one object', async () => {
        const meta: ObjectMeta = { contentType: 'video/mp4', userMeta: { m: '1' } };
        const upload = await store.multipart.initiate('b', 'big.mp4', meta);
        expect(upload).toMatchObject({ bucket: 'b', key: 'big.mp4' });
        expect(upload.uploadId).toMatch(/^[0-9A-F]{32}$/);
        expect(upload.initiated).toBeInstanceOf(Date);
        const r1 = await store.multipart.uploadPart(upload, 1, body(part1));
        expect(r1).toMatchObject({
          partNumber: 1,
          etag: md5Etag(part1),
          size: part1.length,
          crc64: crc64(part1),
        });
        const r2 = await store.multipart.uploadPart(upload, 2, body(part2));
        const r3 = await store.multipart.uploadPart(upload, 3, body(part3));
        await expectOssError(store.headObject('b', 'big.mp4'), 'NoSuchKey');
        const object = await store.multipart.complete(upload, [
          { partNumber: 1, etag: `"${r1.etag}"` },
          { partNumber: 2, etag: r2.etag.toLowerCase() },
          { partNumber: 3, etag: `&quot;${r3.etag}&quot;` },
        ]);
        const all = Buffer.concat([part1, part2, part3]);
        expect(object).toMatchObject({
          bucket: 'b',
          key: 'big.mp4',
          size: all.length,
          etag: multipartEtag([r1.etag, r2.etag, r3.etag]),
          crc64: crc64(all),
          type: 'Multipart',
          meta,
        });
        expect(object.etag).toMatch(/^[0-9A-F]{32}-3$/);
        expect(object.contentMd5).toBeUndefined();
        expect(await store.headObject('b', 'big.mp4')).toEqual(object);
        expect((await get('b', 'big.mp4')).data.equals(all)).toBe(true);
        // Ranges inside one part, across a boundary, across all three.
        for (const [start, end] of [
          [0, 10],
          [100 * KiB - 5, 100 * KiB + 5],
          [100 * KiB, 100 * KiB],
          [50, all.length - 2],
          [all.length - 1000, all.length - 1],
        ] as const) {
          expect((await get('b', 'big.mp4', { start, end })).data.equals(all.subarray(start, end + 1))).toBe(
            true,
          );
        }
        expect((await store.multipart.listUploads('b', { maxUploads: 10 })).uploads).toEqual([]);
      });

      it('replaces a part uploaded again under the same number', async () => {
        const upload = await store.multipart.initiate('b', 'k', META);
        await store.multipart.uploadPart(upload, 1, body(part2));
        const again = await store.multipart.uploadPart(upload, 1, body(part1));
        const { parts } = await store.multipart.listParts(upload, 0, 1000);
        expect(parts).toHaveLength(1);
        expect(parts[0]).toMatchObject({ partNumber: 1, etag: again.etag, size: part1.length });
        const object = await store.multipart.complete(upload, [{ partNumber: 1, etag: again.etag }]);
        expect((await get('b', 'k')).data.equals(part1)).toBe(true);
        expect(object.etag).toBe(multipartEtag([again.etag]));
      });

      it('passes the pending part to beforeCommit; a throw keeps the earlier part', async () => {
        const upload = await store.multipart.initiate('b', 'k', META);
        const earlier = await store.multipart.uploadPart(upload, 1, body(part1));
        let seen: PartRecord | undefined;
        const failure = new Error('InvalidCRC64 from the HTTP layer');
        await expect(
          store.multipart.uploadPart(upload, 1, body(part2), {
            beforeCommit: (pending) => {
              seen = pending;
              throw failure;
            },
          }),
        ).rejects.toBe(failure);
        expect(seen).toMatchObject({ partNumber: 1, etag: md5Etag(part2), crc64: crc64(part2) });
        await expect(
          store.multipart.uploadPart(upload, 2, body(part3), {
            beforeCommit: async () => {
              await Promise.resolve();
              throw failure;
            },
          }),
        ).rejects.toBe(failure);
        const { parts } = await store.multipart.listParts(upload, 0, 1000);
        expect(parts).toEqual([earlier]);
        await store.multipart.complete(upload, [{ partNumber: 1, etag: earlier.etag }]);
        expect((await get('b', 'k')).data.equals(part1)).toBe(true);
      });

      it('lists parts in number order with paging', async () => {
        const upload = await store.multipart.initiate('b', 'k', META);
        for (const n of [5, 1, 3, 2, 4]) await store.multipart.uploadPart(upload, n, body(`part ${n}`));
        const p1 = await store.multipart.listParts(upload, 0, 2);
        expect(p1.parts.map((p) => p.partNumber)).toEqual([1, 2]);
        expect(p1.isTruncated).toBe(true);
        const p2 = await store.multipart.listParts(upload, 2, 2);
        expect(p2.parts.map((p) => p.partNumber)).toEqual([3, 4]);
        expect(p2.isTruncated).toBe(true);
        const p3 = await store.multipart.listParts(upload, 4, 2);
        expect(p3.parts.map((p) => p.partNumber)).toEqual([5]);
        expect(p3.isTruncated).toBe(false);
        expect(p3.parts[0]).toMatchObject({ etag: md5Etag(Buffer.from('part 5')), size: 6 });
        expect(p3.parts[0]!.lastModified).toBeInstanceOf(Date);
        expect((await store.multipart.listParts(upload, 5, 2)).parts).toEqual([]);
      });

      it('checks the part list: InvalidPartOrder, InvalidPart, EntityTooSmall; the upload survives', async () => {
        const upload = await store.multipart.initiate('b', 'k', META);
        const r1 = await store.multipart.uploadPart(upload, 1, body(part1));
        const r2 = await store.multipart.uploadPart(upload, 2, body(part3));
        const r3 = await store.multipart.uploadPart(upload, 3, body(part2));
        const c = (parts: { partNumber: number; etag: string }[]) => store.multipart.complete(upload, parts);
        await expectOssError(
          c([
            { partNumber: 2, etag: r2.etag },
            { partNumber: 1, etag: r1.etag },
          ]),
          'InvalidPartOrder',
        );
        await expectOssError(
          c([
            { partNumber: 1, etag: r1.etag },
            { partNumber: 1, etag: r1.etag },
          ]),
          'InvalidPartOrder',
        );
        await expectOssError(
          c([
            { partNumber: 1, etag: r1.etag },
            { partNumber: 4, etag: r1.etag },
          ]),
          'InvalidPart',
        );
        await expectOssError(
          c([
            { partNumber: 1, etag: r2.etag },
            { partNumber: 2, etag: r2.etag },
          ]),
          'InvalidPart',
        );
        // Part 2 is 1000 bytes and not last.
        await expectOssError(
          c([
            { partNumber: 1, etag: r1.etag },
            { partNumber: 2, etag: r2.etag },
            { partNumber: 3, etag: r3.etag },
          ]),
          'EntityTooSmall',
        );
        await expectOssError(store.headObject('b', 'k'), 'NoSuchKey');
        // A subset of the parts, with the small one last, is fine.
        const object = await c([
          { partNumber: 1, etag: r1.etag },
          { partNumber: 2, etag: r2.etag },
        ]);
        expect(object.size).toBe(part1.length + part3.length);
        expect((await get('b', 'k')).data.equals(Buffer.concat([part1, part3]))).toBe(true);
        expect(object.crc64).toBe(crc64(Buffer.concat([part1, part3])));
      });

      it('forgets the upload after complete or abort: NoSuchUpload, also for a second complete', async () => {
        const upload = await store.multipart.initiate('b', 'k', META);
        const r1 = await store.multipart.uploadPart(upload, 1, body('only part'));
        await store.multipart.complete(upload, [{ partNumber: 1, etag: r1.etag }]);
        await expectOssError(
          store.multipart.complete(upload, [{ partNumber: 1, etag: r1.etag }]),
          'NoSuchUpload',
        );
        await expectOssError(store.multipart.listParts(upload, 0, 10), 'NoSuchUpload');
        await expectOssError(store.multipart.uploadPart(upload, 2, body('x')), 'NoSuchUpload');
        await expectOssError(store.multipart.abort(upload), 'NoSuchUpload');
        expect((await get('b', 'k')).data.toString()).toBe('only part');

        const aborted = await store.multipart.initiate('b', 'k2', META);
        await store.multipart.uploadPart(aborted, 1, body('x'));
        await store.multipart.abort(aborted);
        await expectOssError(store.multipart.listParts(aborted, 0, 10), 'NoSuchUpload');
        await expectOssError(
          store.multipart.complete(aborted, [{ partNumber: 1, etag: md5Etag(Buffer.from('x')) }]),
          'NoSuchUpload',
        );
        await expectOssError(store.multipart.abort(aborted), 'NoSuchUpload');
        await expectOssError(store.headObject('b', 'k2'), 'NoSuchKey');
      });

      it('answers NoSuchUpload for an unknown id or a key that does not match the upload', async () => {
        const upload = await store.multipart.initiate('b', 'k', META);
        const unknown = { bucket: 'b', key: 'k', uploadId: '0'.repeat(32) };
        await expectOssError(store.multipart.listParts(unknown, 0, 10), 'NoSuchUpload');
        await expectOssError(store.multipart.uploadPart(unknown, 1, body('x')), 'NoSuchUpload');
        await expectOssError(store.multipart.abort(unknown), 'NoSuchUpload');
        await expectOssError(
          store.multipart.uploadPart({ ...upload, key: 'other' }, 1, body('x')),
          'NoSuchUpload',
        );
        await expectOssError(store.multipart.listParts({ ...upload, bucket: 'nope' }, 0, 10), 'NoSuchUpload');
      });

      it('lets only one of two racing completes succeed', async () => {
        const upload = await store.multipart.initiate('b', 'k', META);
        const r1 = await store.multipart.uploadPart(upload, 1, body(part1));
        const results = await Promise.allSettled([
          store.multipart.complete(upload, [{ partNumber: 1, etag: r1.etag }]),
          store.multipart.complete(upload, [{ partNumber: 1, etag: r1.etag }]),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = results.find((r) => r.status === 'rejected');
        expect(isOssError(rejected?.reason) ? rejected.reason.code : rejected?.reason).toBe('NoSuchUpload');
        expect((await get('b', 'k')).data.equals(part1)).toBe(true);
      });

      it('a completed object replaces an existing one and survives copy + delete of the source', async () => {
        await put('b', 'k', 'old');
        const upload = await store.multipart.initiate('b', 'k', META);
        const r1 = await store.multipart.uploadPart(upload, 1, body(part1));
        const r2 = await store.multipart.uploadPart(upload, 2, body(part3));
        const object = await store.multipart.complete(upload, [
          { partNumber: 1, etag: r1.etag },
          { partNumber: 2, etag: r2.etag },
        ]);
        const copy = await store.copyObject({ bucket: 'b', key: 'k' }, 'b', 'copy');
        expect(copy.etag).toBe(object.etag);
        await store.deleteObject('b', 'k');
        const all = Buffer.concat([part1, part3]);
        expect((await get('b', 'copy')).data.equals(all)).toBe(true);
        expect((await get('b', 'copy', { start: 100 * KiB - 1, end: 100 * KiB + 1 })).data).toEqual(
          all.subarray(100 * KiB - 1, 100 * KiB + 2),
        );
      });

      it('enforces maxSize on a part and keeps the previous part of that number', async () => {
        const upload = await store.multipart.initiate('b', 'k', META);
        await store.multipart.uploadPart(upload, 1, body('keep me'));
        await expectOssError(
          store.multipart.uploadPart(upload, 1, body(bytes(20)), { maxSize: 10 }),
          'EntityTooLarge',
        );
        await expect(store.multipart.uploadPart(upload, 1, failingBody(bytes(20)))).rejects.toThrow();
        const { parts } = await store.multipart.listParts(upload, 0, 10);
        expect(parts).toHaveLength(1);
        expect(parts[0]!.etag).toBe(md5Etag(Buffer.from('keep me')));
      });

      it('lists uploads by key then initiation, with prefix, markers and truncation', async () => {
        const x1 = await store.multipart.initiate('b', 'x', META);
        const a1 = await store.multipart.initiate('b', 'a', META);
        const x2 = await store.multipart.initiate('b', 'x', META);
        const d1 = await store.multipart.initiate('b', 'dir/y', META);
        const all = await store.multipart.listUploads('b', { maxUploads: 1000 });
        expect(all.uploads.map((u) => u.uploadId)).toEqual([
          a1.uploadId,
          d1.uploadId,
          x1.uploadId,
          x2.uploadId,
        ]);
        expect(all.isTruncated).toBe(false);
        expect(all.uploads[0]).toEqual(a1);
        const prefixed = await store.multipart.listUploads('b', { prefix: 'dir/', maxUploads: 1000 });
        expect(prefixed.uploads.map((u) => u.key)).toEqual(['dir/y']);
        const page = await store.multipart.listUploads('b', { maxUploads: 2 });
        expect(page.uploads.map((u) => u.uploadId)).toEqual([a1.uploadId, d1.uploadId]);
        expect(page.isTruncated).toBe(true);
        const afterKey = await store.multipart.listUploads('b', { keyMarker: 'dir/y', maxUploads: 1000 });
        expect(afterKey.uploads.map((u) => u.uploadId)).toEqual([x1.uploadId, x2.uploadId]);
        const afterX = await store.multipart.listUploads('b', { keyMarker: 'x', maxUploads: 1000 });
        expect(afterX.uploads).toEqual([]);
        const afterId = await store.multipart.listUploads('b', {
          keyMarker: 'x',
          uploadIdMarker: x1.uploadId,
          maxUploads: 1000,
        });
        expect(afterId.uploads.map((u) => u.uploadId)).toEqual([x2.uploadId]);
      });
    });
  });
}
