// The fs store fsyncs every new blob before its rename unless told not to (`fsync: false`, the
// server's --unsafe-no-fsync). Counted at node:fs itself, since nothing on the wire can tell.
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFsObjectStore, type ObjectStore } from '../../src/store/index.ts';

vi.mock('node:fs', async (importOriginal) => {
  const original = await importOriginal<typeof fs>();
  return { ...original, fsync: vi.fn(original.fsync) };
});

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Writes one object and one append; returns the fsync calls made meanwhile. */
async function fsyncsForWrites(store: ObjectStore): Promise<number> {
  await store.createBucket('b', 'private');
  const before = vi.mocked(fs.fsync).mock.calls.length;
  const meta = { contentType: 'text/plain', userMeta: {} };
  await store.putObject('b', 'put', Readable.from([Buffer.from('put body')]), { meta });
  await store.appendObject('b', 'appended', 0, Readable.from([Buffer.from('append')]), { meta });
  return vi.mocked(fs.fsync).mock.calls.length - before;
}

async function open(fsync: boolean | undefined): Promise<{ store: ObjectStore; dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'upcall-fsync-'));
  dirs.push(dataDir);
  return {
    store: await createFsObjectStore({ dataDir, ...(fsync === undefined ? {} : { fsync }) }),
    dataDir,
  };
}

describe('fs store fsync switch', () => {
  it('fsyncs each new blob by default', async () => {
    const { store } = await open(undefined);
    try {
      expect(await fsyncsForWrites(store)).toBeGreaterThanOrEqual(2);
    } finally {
      await store.close();
    }
  });

  it('skips the blob fsync with fsync: false, and the data is still there after reopening', async () => {
    const { store, dataDir } = await open(false);
    try {
      expect(await fsyncsForWrites(store)).toBe(0);
    } finally {
      await store.close();
    }
    const reopened = await createFsObjectStore({ dataDir, fsync: false });
    try {
      const { body } = await reopened.getObject('b', 'put');
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('put body');
    } finally {
      await reopened.close();
    }
  });
});
