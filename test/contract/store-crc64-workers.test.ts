// Each store runs the CRC-64 of large bodies on worker threads of its own and ends them in
// close(): a server (or a test) that closes its store leaves no threads behind, and two stores in
// one process never share hidden state. Counted at node:worker_threads itself, since nothing on
// the wire can tell which thread hashed a body.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type * as workerThreads from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { crc64 } from '../../src/shared/crc64.ts';
import { Crc64Pool } from '../../src/store/hashing/crc64-pool.ts';
import { createFsObjectStore, createMemoryObjectStore, type ObjectStore } from '../../src/store/index.ts';

/** Every worker thread started in this file, and whether it has exited. */
const started = vi.hoisted(() => [] as { exited: boolean }[]);

vi.mock('node:worker_threads', async (importOriginal) => {
  const original = await importOriginal<typeof workerThreads>();
  class CountedWorker extends original.Worker {
    constructor(...args: ConstructorParameters<typeof original.Worker>) {
      super(...args);
      const record = { exited: false };
      started.push(record);
      this.once('exit', () => {
        record.exited = true;
      });
    }
  }
  return { ...original, Worker: CountedWorker };
});

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Past the pool's 1 MiB threshold, in 64 KiB chunks as a socket would deliver it. */
const LARGE = Buffer.alloc(3 * 1024 * 1024, 7);
const largeBody = (): Readable =>
  Readable.from(
    Array.from({ length: LARGE.length / 65536 }, (_, i) => LARGE.subarray(i * 65536, (i + 1) * 65536)),
  );

async function putLarge(store: ObjectStore): Promise<void> {
  await store.createBucket('b', 'private');
  // Twice: the first body starts the workers, the second finds one ready.
  for (const key of ['one', 'two']) {
    const meta = { contentType: 'application/octet-stream', userMeta: {} };
    const stored = await store.putObject('b', key, largeBody(), { meta });
    expect(stored.crc64).toBe(crc64(LARGE));
  }
}

const backends: [string, (crc64Pool?: Crc64Pool) => Promise<ObjectStore>][] = [
  ['memory', (crc64Pool) => Promise.resolve(createMemoryObjectStore({ crc64Pool }))],
  [
    'fs',
    async (crc64Pool) => {
      const dataDir = await mkdtemp(join(tmpdir(), 'upcall-crc-workers-'));
      dirs.push(dataDir);
      return createFsObjectStore({ dataDir, fsync: false, crc64Pool });
    },
  ],
];

describe.each(backends)('%s store', (_name, open) => {
  it('starts CRC-64 workers of its own for large bodies and ends every one in close()', async () => {
    const before = started.length;
    const store = await open();
    await putLarge(store);
    const mine = started.slice(before);
    expect(mine.length).toBeGreaterThan(0);
    await store.close();
    expect(mine.filter((w) => !w.exited)).toEqual([]);
  });

  it('uses a pool it is given and leaves it running: the caller owns it', async () => {
    const before = started.length;
    const pool = new Crc64Pool({ size: 1 });
    try {
      expect(await pool.ready()).toBe(true);
      const poolWorkers = started.slice(before);
      const store = await open(pool);
      await putLarge(store);
      expect(pool.jobsStarted).toBeGreaterThan(0);
      expect(started.length).toBe(before + poolWorkers.length);
      await store.close();
      expect(poolWorkers.filter((w) => w.exited)).toEqual([]);
    } finally {
      await pool.close();
    }
  });
});
