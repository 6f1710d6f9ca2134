// The CallbackLog contract against both backends, and the fs backend's migration: a data dir made
// before the callback log existed opens with its objects intact and gains the log.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createFsObjectStore, createMemoryObjectStore } from '../../src/store/index.ts';
import type { CallbackLogWrite } from '../../src/store/callback-log.ts';
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

describe('fs callback log pruning by count', () => {
  // The prune runs on the server's event loop every 1 000 callbacks: it must not walk the log.
  // Counting down `maxEntries` rows took 25-35 ms per prune here past 40 000 entries, on the
  // loaded CI machine more; finding the cut by `seq` arithmetic takes a few B-tree page reads.
  it('finds the cut in a log of 100 000 entries without stepping through them', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'upcall-cblog-prune-'));
    const store = await createFsObjectStore({ dataDir, fsync: false });
    try {
      const log = store.callbackLog!;
      const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);
      const body = Buffer.from('bucket=photos&object=k.jpg');
      const entry = (n: number): CallbackLogWrite => ({
        kind: 'first',
        entry: {
          requestId: `REQ${String(n).padStart(21, '0')}`,
          bucket: 'photos',
          key: `k/${n}.jpg`,
          operation: 'PutObject',
          request: { urls: ['http://a.example/cb'], bodyType: 'text/plain', sni: false, body },
        },
        delivery: {
          at: new Date(T0 + n),
          ok: true,
          message: '',
          latencyMs: 1,
          attempts: [],
          redelivery: false,
        },
      });
      const total = 100_000;
      for (let n = 0; n < total; n += 1000) {
        await log.record(Array.from({ length: 1000 }, (_, i) => entry(n + i)));
      }
      const retention = { maxAgeMs: 1e12, maxEntries: total };
      // Nothing to drop: the log holds exactly maxEntries. The fastest of five, so a moment of
      // outside load cannot fail it.
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        expect(await log.prune(new Date(T0 + total), retention)).toBe(0);
        times.push(performance.now() - t0);
      }
      expect(Math.min(...times)).toBeLessThan(2);
      // And the cut is still exact: three more entries, the three oldest go.
      await log.record([entry(total), entry(total + 1), entry(total + 2)]);
      expect(await log.prune(new Date(T0 + total), retention)).toBe(3);
      expect(await log.get(`REQ${String(2).padStart(21, '0')}`)).toBeUndefined();
      expect(await log.get(`REQ${String(3).padStart(21, '0')}`)).toBeDefined();
    } finally {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
