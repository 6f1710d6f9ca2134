// The CallbackLog contract against both backends, and the fs backend's migration: a data dir made
// before the callback log existed opens with its objects intact and gains the log.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createFsObjectStore, createMemoryObjectStore } from '../../src/store/index.ts';
import { runCallbackLogContract } from './callback-log.contract.ts';

runCallbackLogContract('memory', () => {
  const store = createMemoryObjectStore();
  return Promise.resolve({ log: store.callbackLog!, dispose: () => store.close() });
});

runCallbackLogContract('fs (SQLite)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'upcall-cblog-contract-'));
  const store = await createFsObjectStore({ dataDir, fsync: false });
  return {
    log: store.callbackLog!,
    async dispose() {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

describe('fs callback log migration', () => {
  it('a data dir from before the log opens with its objects and gains the table', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'upcall-cblog-migrate-'));
    try {
      const before = await createFsObjectStore({ dataDir, fsync: false });
      await before.createBucket('photos', 'private');
      await before.putObject('photos', 'a.txt', Readable.from([Buffer.from('kept')]), {
        meta: { contentType: 'text/plain', userMeta: {} },
      });
      await before.close();
      // Make it an old data dir: no callback_log table.
      const db = new Database(join(dataDir, 'meta.sqlite'));
      db.exec('DROP TABLE callback_log');
      db.close();

      const after = await createFsObjectStore({ dataDir, fsync: false });
      try {
        expect((await after.headObject('photos', 'a.txt')).size).toBe(4);
        expect((await after.callbackLog!.list({ limit: 10 })).entries).toEqual([]);
      } finally {
        await after.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
