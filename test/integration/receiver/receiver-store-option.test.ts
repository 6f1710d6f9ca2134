// The receiver app keeps records "in SQLite by default, behind an interface another database can
// implement": createReceiver({ store }) uses the given UploadRepository + HookJobQueue for
// callbacks, the REST API and hooks, and leaves the store open for its owner on close.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiver } from '../../../src/receiver/app/create-receiver.ts';
import { openSqliteReceiverStore } from '../../../src/receiver/app/sqlite-receiver-store.ts';
import {
  createCallbackSigner,
  sendRaw,
  type CallbackSigner,
} from '../../helpers/receiver-callback-signer.ts';

let dir: string;
let signer: CallbackSigner;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-receiver-store-'));
  signer = createCallbackSigner({ keyUrl: 'http://127.0.0.1:9/key.pem', modulusLength: 1024 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createReceiver with an injected store', () => {
  it('records through the given store, serves it over REST, and leaves it open on close', async () => {
    const storeDir = join(dir, 'owned-by-caller');
    const store = await openSqliteReceiverStore(storeDir);
    const ran: number[] = [];
    const receiver = await createReceiver({
      store,
      publicKey: signer.publicKeyPem,
      hooks: { afterUpload: { note: (record) => void ran.push(record.id) }, pollIntervalMs: 20 },
    });
    try {
      const origin = await receiver.listen();
      const body = Buffer.from('bucket=b&object=injected.txt&size=3&x:who=me');
      const res = await sendRaw(origin, {
        target: '/callback',
        headers: signer.headers('/callback', body, {}),
        body,
      });
      expect(res.status, res.text).toBe(200);
      const { id } = res.json as { id: number };
      // The record is in the caller's store, and the REST API reads it from there.
      expect(await store.uploads.get(id)).toMatchObject({ object: 'injected.txt', verified: true });
      const api = await sendRaw(origin, { method: 'GET', target: `/api/uploads/${id}` });
      expect(api.json).toMatchObject({ id, object: 'injected.txt', vars: { 'x:who': 'me' } });
      await expect.poll(() => ran).toEqual([id]);
    } finally {
      await receiver.close();
    }
    // Still open: the receiver did not close what it does not own.
    expect((await store.uploads.list({})).uploads).toHaveLength(1);
    await store.close();
    // Nothing was written anywhere but the given store's own directory.
    expect(await readdir(dir)).toEqual(['owned-by-caller']);
  });

  it('needs a dataDir or a store', async () => {
    await expect(createReceiver({ publicKey: signer.publicKeyPem })).rejects.toThrow(
      'createReceiver needs dataDir or store',
    );
  });
});
