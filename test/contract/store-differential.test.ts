// Differential property test: random sequences of writes applied to the memory backend and to the
// fs backend (and the gateway backend, on PostgreSQL + Swift s3api, when the services are
// configured) must leave them indistinguishable through the interface (same errors, listings,
// bodies, hashes).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOssError } from '../../src/shared/oss-error.ts';
import type { BlobStore } from '../../src/store/gateway/blob-store.ts';
import { createS3BlobStore } from '../../src/store/gateway/s3-blob-store.ts';
import { createGatewayObjectStore } from '../../src/store/gateway/gateway-object-store.ts';
import {
  createFsObjectStore,
  createMemoryObjectStore,
  type ObjectAcl,
  type ObjectMeta,
  type ObjectSettings,
  type ObjectStore,
  type ObjectTag,
  type StoredObject,
} from '../../src/store/index.ts';
import { createTestDatabase, testServices, type TestDatabase } from '../helpers/services.ts';
import { body, bytes, readAll } from './object-store.contract.ts';

const META: ObjectMeta = { contentType: 'a/b', userMeta: { x: '1' } };
const key = fc.constantFrom('a', 'a/b', 'a/c', 'b', 'é', 'dir/x', 'dir/y/z');
const acl = fc.constantFrom<ObjectAcl>('default', 'private', 'public-read', 'public-read-write');
const tags = fc.uniqueArray(
  fc.record({ key: fc.string({ minLength: 1, maxLength: 4 }), value: fc.string({ maxLength: 4 }) }),
  { maxLength: 3, selector: (tag) => tag.key },
);
const settings: fc.Arbitrary<ObjectSettings> = fc.record({ acl, tags }, { requiredKeys: [] });

type Op =
  | { op: 'put'; key: string; size: number; settings: ObjectSettings }
  | { op: 'delete'; key: string }
  | { op: 'append'; key: string; size: number; offset: number; settings: ObjectSettings }
  | { op: 'copy'; from: string; to: string; settings: ObjectSettings }
  | { op: 'setAcl'; key: string; acl: ObjectAcl }
  | { op: 'setTags'; key: string; tags: readonly ObjectTag[] };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), key, size: fc.integer({ min: 0, max: 2000 }), settings }),
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({
    op: fc.constant('append' as const),
    key,
    size: fc.integer({ min: 0, max: 2000 }),
    offset: fc.integer({ min: -1, max: 1 }),
    settings,
  }),
  fc.record({ op: fc.constant('copy' as const), from: key, to: key, settings }),
  fc.record({ op: fc.constant('setAcl' as const), key, acl }),
  fc.record({ op: fc.constant('setTags' as const), key, tags }),
);

/** What a call produced, in a comparable form: the error code, or the value without timestamps. */
async function outcome<T>(call: () => Promise<T>): Promise<unknown> {
  try {
    const value = await call();
    return strip(value);
  } catch (error) {
    return { error: isOssError(error) ? error.code : String(error) };
  }
}

function strip(value: unknown): unknown {
  if (value === undefined || value === null || typeof value !== 'object') return value;
  const { lastModified: _l, ...rest } = value as StoredObject;
  return rest;
}

async function apply(store: ObjectStore, o: Op, seed: number): Promise<unknown> {
  switch (o.op) {
    case 'put':
      return outcome(() =>
        store.putObject('b', o.key, body(bytes(o.size, seed)), { meta: META, settings: o.settings }),
      );
    case 'delete':
      return outcome(() => store.deleteObject('b', o.key));
    case 'append':
      return outcome(async () => {
        const size = await store.headObject('b', o.key).then(
          (h) => h.size,
          () => 0,
        );
        return store.appendObject('b', o.key, Math.max(0, size + o.offset), body(bytes(o.size, seed)), {
          meta: META,
          settings: o.settings,
        });
      });
    case 'copy':
      return outcome(() => store.copyObject({ bucket: 'b', key: o.from }, 'b', o.to, undefined, o.settings));
    case 'setAcl':
      return outcome(() => store.setObjectAcl('b', o.key, o.acl));
    case 'setTags':
      return outcome(() => store.setObjectTags('b', o.key, o.tags));
  }
}

const SCANS = [
  { maxKeys: 3 },
  { prefix: 'a', maxKeys: 2 },
  { prefix: 'dir/', after: 'dir/x', maxKeys: 1 },
  { after: 'a/b', maxKeys: 2 },
  { after: 'b', maxKeys: 1000 },
];

async function snapshot(store: ObjectStore): Promise<unknown> {
  const page = await store.listObjects('b', { maxKeys: 1000 });
  const objects = [];
  for (const object of page.objects) {
    const { body: stream } = await store.getObject('b', object.key);
    objects.push({ ...(strip(object) as object), data: (await readAll(stream)).toString('base64') });
  }
  // Scans that start mid-range and stop short, where the backends' seeks and limits differ.
  const scans = [];
  for (const query of SCANS) {
    const scan = await store.listObjects('b', query);
    scans.push({ query, keys: scan.objects.map((o) => o.key), isTruncated: scan.isTruncated });
  }
  return { objects, scans };
}

describe('memory and fs backends agree', () => {
  let dataDir: string;
  let fsStore: ObjectStore;
  let memStore: ObjectStore;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'upcall-diff-'));
    fsStore = await createFsObjectStore({ dataDir });
    memStore = createMemoryObjectStore();
  });
  afterAll(async () => {
    await fsStore.close();
    await memStore.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('on random operation sequences (property)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        run++;
        for (const s of [fsStore, memStore]) await s.createBucket('b', 'private');
        try {
          for (const [i, o] of ops.entries()) {
            const seed = run * 100 + i + 1;
            const [a, b] = [await apply(fsStore, o, seed), await apply(memStore, o, seed)];
            expect(a, JSON.stringify(o)).toEqual(b);
          }
          expect(await snapshot(fsStore)).toEqual(await snapshot(memStore));
        } finally {
          for (const s of [fsStore, memStore]) {
            for (const o of (await s.listObjects('b', { maxKeys: 1000 })).objects)
              await s.deleteObject('b', o.key);
            await s.deleteBucket('b');
          }
        }
      }),
      { numRuns: 25 },
    );
  });
});

// The gateway backend (PostgreSQL + the Swift s3api engine) against the memory reference, the same way.
const services = testServices();

describe.skipIf(!services)('memory and gateway (PostgreSQL + S3) backends agree', () => {
  const prefix = `pgstore-diff/${randomBytes(6).toString('hex')}/`;
  let db: TestDatabase;
  let blobs: BlobStore;
  let gatewayStore: ObjectStore;
  let memStore: ObjectStore;

  beforeAll(async () => {
    db = await createTestDatabase(services!.pgUrl, 'pgstore_diff');
    blobs = createS3BlobStore(services!.s3);
    gatewayStore = await createGatewayObjectStore({
      databaseUrl: db.url,
      s3: services!.s3,
      blobStore: blobs,
      blobKeyPrefix: prefix,
      gcIntervalMs: 0,
      // Several segments per body of up to 2000 bytes: reads across segment boundaries.
      segmentBytes: 700,
    });
    memStore = createMemoryObjectStore();
  });
  afterAll(async () => {
    await gatewayStore.close();
    await memStore.close();
    await db.drop();
    const left: string[] = [];
    for await (const entry of blobs.list(prefix)) left.push(entry.key);
    await blobs.delete(left);
    await blobs.close();
  });

  it('on random operation sequences (property)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        run++;
        for (const s of [gatewayStore, memStore]) await s.createBucket('b', 'private');
        try {
          for (const [i, o] of ops.entries()) {
            const seed = run * 100 + i + 1;
            const [a, b] = [await apply(gatewayStore, o, seed), await apply(memStore, o, seed)];
            expect(a, JSON.stringify(o)).toEqual(b);
          }
          expect(await snapshot(gatewayStore)).toEqual(await snapshot(memStore));
        } finally {
          for (const s of [gatewayStore, memStore]) {
            for (const o of (await s.listObjects('b', { maxKeys: 1000 })).objects)
              await s.deleteObject('b', o.key);
            await s.deleteBucket('b');
          }
        }
      }),
      { numRuns: 25 },
    );
  });
});
