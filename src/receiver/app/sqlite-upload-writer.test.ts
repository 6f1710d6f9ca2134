// The receiver's SQLite store commits the callback path's writes in groups (one transaction per
// turn of the event loop). Each write must still settle on its own: its id once committed, its
// own error when it alone is bad, and nothing queued may be lost on close.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCallbackSigner, sendRaw } from '../../../test/helpers/receiver-callback-signer.ts';
import { createReceiver } from './create-receiver.ts';
import { openSqliteReceiverStore } from './sqlite-receiver-store.ts';
import type { NewUploadRecord } from './upload-record.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-upload-writer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function record(object: string, overrides: Partial<NewUploadRecord> = {}): NewUploadRecord {
  return {
    receivedAt: 1_700_000_000_000,
    verified: true,
    bodyFormat: 'form',
    fields: { object },
    vars: { 'x:n': object },
    object,
    target: '/callback',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    rawBody: Buffer.from(`object=${object}`),
    ...overrides,
  };
}

describe('the SQLite store under concurrent callback writes', () => {
  it('gives each of many same-turn inserts its own id, with its vars, jobs and reply', async () => {
    const store = await openSqliteReceiverStore(join(dir, 'many'));
    try {
      const names = Array.from({ length: 40 }, (_, i) => `k${i}`);
      const ids = await Promise.all(names.map((n) => store.uploads.insert(record(n), ['thumb', 'index'])));
      expect(new Set(ids).size).toBe(names.length);
      await Promise.all(ids.map((id, i) => store.uploads.setReply(id, { n: names[i]! })));
      for (const [i, id] of ids.entries()) {
        const stored = await store.uploads.get(id);
        expect(stored).toMatchObject({ object: names[i], vars: { 'x:n': names[i] }, reply: { n: names[i] } });
        expect((await store.jobs.jobsFor(id)).map((j) => j.hook)).toEqual(['thumb', 'index']);
      }
      const page = await store.uploads.list({ vars: [{ name: 'x:n', value: 'k7' }] });
      expect(page.uploads.map((u) => u.id)).toEqual([ids[7]]);
    } finally {
      await store.close();
    }
  });

  it('rejects only the bad write of a group; the others in the same turn are stored', async () => {
    const store = await openSqliteReceiverStore(join(dir, 'one-bad'));
    try {
      // NaN binds as NULL, which the NOT NULL received_at column refuses.
      const results = await Promise.allSettled([
        store.uploads.insert(record('before'), ['hook']),
        store.uploads.insert(record('bad', { receivedAt: Number.NaN }), ['hook']),
        store.uploads.insert(record('after'), ['hook']),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const page = await store.uploads.list({});
      expect(page.uploads.map((u) => u.object).sort()).toEqual(['after', 'before']);
      for (const r of results) {
        if (r.status === 'fulfilled') expect(await store.jobs.jobsFor(r.value)).toHaveLength(1);
      }
    } finally {
      await store.close();
    }
  });

  it('commits writes still queued when the store closes', async () => {
    const storeDir = join(dir, 'close');
    const store = await openSqliteReceiverStore(storeDir);
    const pending = store.uploads.insert(record('queued'), []);
    await store.close();
    const id = await pending;
    const reopened = await openSqliteReceiverStore(storeDir);
    try {
      expect(await reopened.uploads.get(id)).toMatchObject({ object: 'queued' });
      // A write after close fails instead of hanging.
      await expect(store.uploads.insert(record('late'), [])).rejects.toThrow();
    } finally {
      await reopened.close();
    }
  });

  it('never lists a verified record without its reply while callbacks are being answered', async () => {
    // The default reply is recorded in the upload's own transaction: a reader (the REST API,
    // the dashboard) sees both or neither, as a restart would.
    const signer = createCallbackSigner({ keyUrl: 'http://127.0.0.1:9/key.pem', modulusLength: 1024 });
    const receiver = await createReceiver({ dataDir: join(dir, 'atomic'), publicKey: signer.publicKeyPem });
    try {
      const origin = await receiver.listen();
      let sending = true;
      const seenWithoutReply: number[] = [];
      let listed = 0;
      const reader = (async () => {
        while (sending) {
          const page = await sendRaw(origin, { method: 'GET', target: '/api/uploads?limit=1000' });
          const uploads = (page.json as { uploads: { id: number; verified: boolean; reply?: unknown }[] })
            .uploads;
          listed += uploads.length;
          for (const u of uploads) if (u.verified && u.reply === undefined) seenWithoutReply.push(u.id);
        }
      })();
      for (let round = 0; round < 10; round++) {
        const replies = await Promise.all(
          Array.from({ length: 16 }, async (_, i) => {
            const body = Buffer.from(`bucket=b&object=r${round}-${i}.jpg&size=${i}`);
            return sendRaw(origin, {
              target: '/callback',
              headers: signer.headers('/callback', body, {}),
              body,
            });
          }),
        );
        expect(replies.map((r) => r.status)).toEqual(Array(16).fill(200));
      }
      sending = false;
      await reader;
      expect(listed).toBeGreaterThan(0);
      expect(seenWithoutReply).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('answers concurrent signed callbacks over HTTP, each with its own record', async () => {
    const signer = createCallbackSigner({ keyUrl: 'http://127.0.0.1:9/key.pem', modulusLength: 1024 });
    const receiver = await createReceiver({ dataDir: join(dir, 'http'), publicKey: signer.publicKeyPem });
    try {
      const origin = await receiver.listen();
      const replies = await Promise.all(
        Array.from({ length: 24 }, async (_, i) => {
          const body = Buffer.from(`bucket=b&object=c${i}.jpg&size=${i}&x:i=${i}`);
          return sendRaw(origin, {
            target: '/callback',
            headers: signer.headers('/callback', body, {}),
            body,
          });
        }),
      );
      expect(replies.map((r) => r.status)).toEqual(Array(24).fill(200));
      const answered = replies.map((r) => r.json as { id: number; object: string });
      expect(new Set(answered.map((a) => a.id)).size).toBe(24);
      for (const a of answered) {
        const stored = await receiver.uploads.get(a.id);
        expect(stored).toMatchObject({
          object: a.object,
          reply: { Status: 'OK', id: a.id, object: a.object },
        });
      }
    } finally {
      await receiver.close();
    }
  });

  it('prunes refused records through an index verified records never enter, also after an upgrade', async () => {
    const path = join(dir, 'refused-index');
    const uploadIndexes = (): { name: string; sql: string }[] => {
      const database = new Database(join(path, 'receiver.sqlite'), { readonly: true });
      try {
        return database
          .prepare(
            "select name, sql from sqlite_master where type = 'index' and tbl_name = 'uploads' and sql is not null",
          )
          .all() as { name: string; sql: string }[];
      } finally {
        database.close();
      }
    };
    let store = await openSqliteReceiverStore(path);
    await store.close();
    // A database from before issue 17: every insert also entered a (verified, id) index.
    const old = new Database(join(path, 'receiver.sqlite'));
    old.exec(
      'drop index "uploads_refused_id"; create index "uploads_verified_id" on "uploads" ("verified", "id")',
    );
    old.close();

    store = await openSqliteReceiverStore(path);
    try {
      const refused = { verified: false, rejectReason: 'signature-mismatch' } as const;
      for (const name of ['r1', 'v1', 'r2', 'v2', 'r3']) {
        await store.uploads.insert(record(name, name.startsWith('r') ? refused : {}), []);
      }
      await store.uploads.pruneRefused!(2);
      const left = await store.uploads.list({});
      expect(left.uploads.map((u) => u.object)).toEqual(['r3', 'v2', 'r2', 'v1']);
    } finally {
      await store.close();
    }
    const indexes = uploadIndexes();
    expect(indexes.map((i) => i.name)).not.toContain('uploads_verified_id');
    expect(indexes.find((i) => i.name === 'uploads_refused_id')?.sql).toMatch(/where "verified" = 0$/);
  });

  it('writes the default reply in the upload row itself, and never reuses the id of a deleted record', async () => {
    const path = join(dir, 'reply-in-row');
    let store = await openSqliteReceiverStore(path);
    await store.close();
    // Counts every write of a reply after the row was inserted.
    const setup = new Database(join(path, 'receiver.sqlite'));
    setup.exec(
      'create table "reply_updates" ("upload_id" integer); ' +
        'create trigger "count_reply_updates" after update of "reply_json" on "uploads" ' +
        'begin insert into "reply_updates" values (new."id"); end',
    );
    setup.close();

    store = await openSqliteReceiverStore(path);
    const replyOf = (id: number) => ({ reply: { Status: 'OK', id }, latencyMs: 1.5 });
    try {
      const refused = { verified: false, rejectReason: 'signature-mismatch' } as const;
      // One turn, so one group: inserts with and without a reply, interleaved.
      const first = await Promise.all([
        store.uploads.insertWithReply!(record('a'), ['hook'], replyOf),
        store.uploads.insert(record('r1', refused), []),
        store.uploads.insertWithReply!(record('b'), [], replyOf),
        store.uploads.insert(record('r2', refused), []),
      ]);
      expect(first).toEqual([first[0], first[0] + 1, first[0] + 2, first[0] + 3]);
      await store.close();
      // The newest record goes; its id is not given out again, after a restart either.
      const edit = new Database(join(path, 'receiver.sqlite'));
      edit.prepare('delete from "uploads" where "id" = ?').run(first[3]);
      edit.close();
      store = await openSqliteReceiverStore(path);
      const later = await store.uploads.insertWithReply!(record('c'), [], replyOf);
      expect(later).toBe(first[3] + 1);
      for (const [object, id] of [
        ['a', first[0]],
        ['b', first[2]],
        ['c', later],
      ] as const) {
        expect(await store.uploads.get(id)).toMatchObject({
          object,
          reply: { Status: 'OK', id },
          latencyMs: 1.5,
        });
      }
      expect((await store.jobs.jobsFor(first[0])).map((job) => job.hook)).toEqual(['hook']);
    } finally {
      await store.close();
    }
    const check = new Database(join(path, 'receiver.sqlite'), { readonly: true });
    try {
      expect(check.prepare('select count(*) from "reply_updates"').pluck().get()).toBe(0);
    } finally {
      check.close();
    }
  });
});
