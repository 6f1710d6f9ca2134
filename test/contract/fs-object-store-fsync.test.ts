// The fs store makes every new blob durable before its row commits unless told not to
// (`fsync: false`, the server's --unsafe-no-fsync): a small body through one write to a file
// opened with O_DSYNC, a larger one with an fsync at the end. Counted at node:fs itself, since
// nothing on the wire can tell.
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFsObjectStore, type ObjectStore } from '../../src/store/index.ts';

vi.mock('node:fs', async (importOriginal) => {
  const original = await importOriginal<typeof fs>();
  return { ...original, fsync: vi.fn(original.fsync), open: vi.fn(original.open) };
});

const O_DSYNC = fs.constants.O_DSYNC;

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The fsync calls and the opens with O_DSYNC made while `write` runs. */
async function durableOps(write: () => Promise<unknown>): Promise<{ fsyncs: number; dsyncOpens: number }> {
  const fsyncsBefore = vi.mocked(fs.fsync).mock.calls.length;
  const opensBefore = vi.mocked(fs.open).mock.calls.length;
  await write();
  const opens = vi.mocked(fs.open).mock.calls.slice(opensBefore);
  return {
    fsyncs: vi.mocked(fs.fsync).mock.calls.length - fsyncsBefore,
    dsyncOpens: opens.filter(([, flags]) => typeof flags === 'number' && (flags & O_DSYNC) !== 0).length,
  };
}

const meta = { contentType: 'text/plain', userMeta: {} };

/** One small PUT and one small append. */
async function smallWrites(store: ObjectStore): Promise<void> {
  await store.createBucket('b', 'private');
  await store.putObject('b', 'put', Readable.from([Buffer.from('put body')]), { meta });
  await store.appendObject('b', 'appended', 0, Readable.from([Buffer.from('append')]), { meta });
}

/** A PUT of 256 KiB in 32 KiB chunks: more than a sink holds back before opening its file. */
async function largeWrite(store: ObjectStore): Promise<void> {
  const chunks = Array.from({ length: 8 }, (_, i) => Buffer.alloc(32 * 1024, i));
  await store.putObject('b', 'large', Readable.from(chunks), { meta });
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
  it('makes each new blob durable by default: O_DSYNC for a small body, fsync for a large one', async () => {
    const { store } = await open(undefined);
    try {
      expect(await durableOps(() => smallWrites(store))).toEqual({ fsyncs: 0, dsyncOpens: 2 });
      expect(await durableOps(() => largeWrite(store))).toEqual({ fsyncs: 1, dsyncOpens: 0 });
    } finally {
      await store.close();
    }
  });

  it('skips the blob fsync with fsync: false, and the data is still there after reopening', async () => {
    const { store, dataDir } = await open(false);
    try {
      expect(await durableOps(() => smallWrites(store))).toEqual({ fsyncs: 0, dsyncOpens: 0 });
      expect(await durableOps(() => largeWrite(store))).toEqual({ fsyncs: 0, dsyncOpens: 0 });
    } finally {
      await store.close();
    }
    const reopened = await createFsObjectStore({ dataDir, fsync: false });
    try {
      const { body } = await reopened.getObject('b', 'put');
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('put body');
      expect((await reopened.headObject('b', 'large')).size).toBe(256 * 1024);
    } finally {
      await reopened.close();
    }
  });
});
