// The CallbackLog contract against both backends, and the fs backend's migration: a data dir made
// before the callback log existed opens with its objects intact and gains the log.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { CallbackLogWrite } from '../../src/store/callback-log.ts';
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

describe('fs callback log pruning by count', () => {
  const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);
  const body = Buffer.from('bucket=photos&object=k.jpg');
  const id = (n: number): string => `REQ${String(n).padStart(21, '0')}`;
  const entry = (n: number): CallbackLogWrite => ({
    kind: 'first',
    entry: {
      requestId: id(n),
      bucket: 'photos',
      key: `k/${n}.jpg`,
      operation: 'PutObject',
      request: { urls: ['http://a.example/cb'], bodyType: 'text/plain', sni: false, body },
    },
    delivery: { at: new Date(T0 + n), ok: true, message: '', latencyMs: 1, attempts: [], redelivery: false },
  });
  const keep = { maxAgeMs: 1e12 };

  it('keeps exactly the newest max entries when seq has gaps among them', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'upcall-cblog-gaps-'));
    try {
      const before = await createFsObjectStore({ dataDir, fsync: false });
      await before.callbackLog!.record(Array.from({ length: 10 }, (_, i) => entry(i + 1)));
      await before.close();
      // A gap among the newest: seq 8 and 9 gone (by hand; the server's own prunes only ever drop
      // the oldest). A cut at max(seq) - max would keep 10, 11 and 12 only.
      const db = new Database(join(dataDir, 'meta.sqlite'));
      db.exec('DELETE FROM callback_log WHERE seq IN (8, 9)');
      db.close();

      const store = await createFsObjectStore({ dataDir, fsync: false });
      try {
        const log = store.callbackLog!;
        await log.record([entry(11), entry(12), entry(11)]); // the repeated request id adds nothing
        expect(await log.prune(new Date(T0), { ...keep, maxEntries: 4 })).toBe(6);
        const kept = (await log.list({ limit: 100 })).entries.map((e) => e.requestId);
        expect(kept).toEqual([id(12), id(11), id(10), id(7)]);
        expect(await log.prune(new Date(T0), { ...keep, maxEntries: 4 })).toBe(0);
        // The age prune's drops count too: after it, the count prune drops only the excess left.
        await log.record([entry(13), entry(14)]);
        // Entry 7 is too old (created at T0 + 7), then two more than 3 remain: 10 and 11 go.
        expect(await log.prune(new Date(T0 + 8), { maxAgeMs: 0, maxEntries: 3 })).toBe(3);
        expect((await log.list({ limit: 100 })).entries.map((e) => e.requestId)).toEqual([
          id(14),
          id(13),
          id(12),
        ]);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  // The prune runs on the server's event loop after every batch: it must read only the rows it
  // drops, however long the log. Measured by what SQLite reads from the files on a cold page
  // cache (a reopened store; /proc/self/io counts the bytes of every read and pread), not by
  // time: counting down 100 000 rows reads every leaf of the table (megabytes), the cut reads a
  // few pages.
  it.runIf(process.platform === 'linux')(
    'prunes a log of 100 000 entries reading a few pages, not the log',
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'upcall-cblog-prune-'));
      const bytesRead = (): number =>
        Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
      try {
        const total = 100_000;
        const before = await createFsObjectStore({ dataDir, fsync: false });
        for (let n = 0; n < total; n += 1000) {
          await before.callbackLog!.record(Array.from({ length: 1000 }, (_, i) => entry(n + i)));
        }
        await before.close();

        const store = await createFsObjectStore({ dataDir, fsync: false });
        try {
          const log = store.callbackLog!;
          await log.record([entry(total), entry(total + 1), entry(total + 2)]);
          const read0 = bytesRead();
          const dropped = await log.prune(new Date(T0), { ...keep, maxEntries: total });
          const read = bytesRead() - read0;
          expect(dropped).toBe(3);
          expect(read).toBeLessThan(64 * 1024);
          expect(await log.get(id(2))).toBeUndefined();
          expect(await log.get(id(3))).toBeDefined();
        } finally {
          await store.close();
        }
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
