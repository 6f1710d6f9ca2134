/**
 * What unauthenticated traffic can cost the receiver app (issue 14, item 4): anyone who can reach
 * the callback URL can post junk with a bad signature, so a refused callback must leave only a
 * small record (a body excerpt, not the body) and only the newest few of them, and every page of
 * GET /api/uploads must stay small whatever was recorded. Real sockets, real SQLite file.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { createReceiver, type ReceiverOptions } from '../../../src/receiver/app/create-receiver.ts';
import { openSqliteReceiverStore } from '../../../src/receiver/app/sqlite-receiver-store.ts';
import type { UploadJson } from '../../../src/receiver/app/uploads-api.ts';
import {
  createCallbackSigner,
  sendRaw,
  type CallbackSigner,
} from '../../helpers/receiver-callback-signer.ts';
import { startKeyServer, type KeyServer } from '../../helpers/receiver-key-server.ts';

const MiB = 1024 * 1024;
let keys: KeyServer;
let signer: CallbackSigner;
let root: string;

beforeAll(async () => {
  keys = await startKeyServer({ kind: 'text', body: '' });
  signer = createCallbackSigner({ keyUrl: keys.keyUrl });
  keys.mode = { kind: 'pem', pem: signer.publicKeyPem };
  root = await mkdtemp(join(tmpdir(), 'upcall-receiver-bounds-'));
});
afterAll(async () => {
  await keys.close();
  await rm(root, { recursive: true, force: true });
});

async function withReceiver(
  name: string,
  options: Partial<ReceiverOptions>,
  run: (origin: string) => Promise<void>,
): Promise<void> {
  const dataDir = join(root, name);
  const receiver = await createReceiver({ dataDir, keyUrlAllowlist: [`${keys.origin}/`], ...options });
  try {
    await run(await receiver.listen());
  } finally {
    await receiver.close();
  }
}

/** A 1 MB form body posted with a signature that does not match it. */
function garbage(i: number): { body: Buffer; headers: Record<string, string> } {
  const body = Buffer.alloc(MiB - 64, 'a');
  body.write(`object=junk-${i}.bin&filler=`);
  return { body, headers: signer.headers('/callback', Buffer.from('something else')) };
}

async function sqliteBytes(dataDir: string): Promise<number> {
  let total = 0;
  for (const file of ['receiver.sqlite', 'receiver.sqlite-wal']) {
    total += await stat(join(dataDir, file)).then(
      (s) => s.size,
      () => 0,
    );
  }
  return total;
}

describe('receiver app under junk callbacks', { timeout: 120_000 }, () => {
  it('50 refused 1 MB callbacks leave small excerpts, and only the newest refusedRecordsKept of them', async () => {
    await withReceiver('junk', { refusedRecordsKept: 20 }, async (origin) => {
      for (let i = 0; i < 50; i++) {
        const { body, headers } = garbage(i);
        const res = await sendRaw(origin, { target: '/callback', headers, body });
        expect(res.status).toBe(400);
      }
      // The junk is all refused; what is kept is bounded in count and in size.
      const res = await sendRaw(origin, { method: 'GET', target: '/api/uploads?limit=1000' });
      expect(res.status).toBe(200);
      const page = res.json as { uploads: UploadJson[]; nextCursor?: string };
      expect(page.uploads).toHaveLength(20);
      expect(page.nextCursor).toBeUndefined();
      const newest = page.uploads[0]!;
      expect(newest.verified).toBe(false);
      expect(newest.rejectReason).toBe('signature-mismatch');
      // The excerpt is the start of the body, and says how much was cut.
      expect(newest.object).toBe('junk-49.bin');
      expect(newest.bodySize).toBe(MiB - 64);
      expect(newest.bodyTruncated).toBe(true);
      expect(Buffer.from(newest.bodyBase64, 'base64').length).toBeLessThanOrEqual(4096);
      expect(page.uploads.at(-1)!.object).toBe('junk-30.bin');
    });
    // 50 MB posted; the database keeps 20 excerpts of it (closed, so the WAL is folded in).
    expect(await sqliteBytes(join(root, 'junk'))).toBeLessThan(MiB);
  });

  it('GET /api/uploads?limit=1000 over large verified records answers a bounded page and a cursor', async () => {
    await withReceiver('large-verified', { maxBodyBytes: 2 * MiB }, async (origin) => {
      // Verified callbacks whose bodies are 1 MB each (a generous template with big x: vars).
      for (let i = 0; i < 12; i++) {
        const body = Buffer.from(
          new URLSearchParams({ object: `big-${i}.bin`, 'x:blob': 'b'.repeat(MiB) }).toString(),
        );
        const res = await sendRaw(origin, {
          target: '/callback',
          headers: signer.headers('/callback', body),
          body,
        });
        expect(res.status).toBe(200);
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const target = `/api/uploads?limit=1000${cursor === undefined ? '' : `&cursor=${cursor}`}`;
        const res = await sendRaw(origin, { method: 'GET', target });
        expect(res.status).toBe(200);
        expect(Buffer.byteLength(res.text)).toBeLessThanOrEqual(8 * MiB);
        const page = res.json as { uploads: UploadJson[]; nextCursor?: string };
        expect(page.uploads.length).toBeGreaterThan(0);
        for (const u of page.uploads) {
          seen.push(u.object!);
          // The list carries an excerpt; the record itself has the whole body.
          expect(Buffer.from(u.bodyBase64, 'base64').length).toBeLessThanOrEqual(4096);
          expect(u.bodyTruncated).toBe(true);
        }
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== undefined && pages < 20);
      // Every record is reachable by following the cursor, newest first, none twice.
      expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => `big-${11 - i}.bin`));
      expect(pages).toBeGreaterThan(1);

      const list = await sendRaw(origin, { method: 'GET', target: '/api/uploads?limit=1' });
      const id = (list.json as { uploads: UploadJson[] }).uploads[0]!.id;
      const one = await sendRaw(origin, { method: 'GET', target: `/api/uploads/${id}` });
      const full = one.json as UploadJson;
      expect(full.bodyTruncated).toBe(false);
      expect(Buffer.from(full.bodyBase64, 'base64').length).toBe(full.bodySize);
      expect(full.vars['x:blob']).toHaveLength(MiB);
    });
  });

  it('a database made before body excerpts (no body_size column) opens, lists and keeps its records', async () => {
    const dataDir = join(root, 'old-schema');
    const store = await openSqliteReceiverStore(dataDir);
    await store.uploads.insert(
      {
        receivedAt: 1_700_000_000_000,
        verified: true,
        bodyFormat: 'form',
        fields: { object: 'old.txt' },
        vars: {},
        object: 'old.txt',
        target: '/callback',
        headers: {},
        rawBody: Buffer.from('object=old.txt'),
      },
      [],
    );
    await store.close();
    const raw = new Database(join(dataDir, 'receiver.sqlite'));
    raw.exec('alter table uploads drop column body_size');
    raw.close();

    const reopened = await openSqliteReceiverStore(dataDir);
    try {
      const page = await reopened.uploads.list({});
      expect(page.uploads.map((u) => [u.object, Buffer.from(u.rawBody).toString(), u.bodySize])).toEqual([
        ['old.txt', 'object=old.txt', undefined],
      ]);
    } finally {
      await reopened.close();
    }
  });
});
