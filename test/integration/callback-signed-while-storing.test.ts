// PutObject and PostObject build and sign the upload callback as soon as the body is hashed, while
// the store makes the object durable, and send it only once the object is stored. Observed through
// ali-oss on a real server: the dispatcher and the store are the real ones, wrapped to record the
// order of `prepare` (build + start signing), `stored` (putObject resolved) and `send`.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCallbackDispatcher, type CallbackDispatcher } from '../../src/server/callback-dispatcher.ts';
import { encodePostPolicy, signPostPolicyV1 } from '../../src/shared/post-policy.ts';
import { createFsObjectStore, type ObjectStore } from '../../src/store/index.ts';
import { ossClient, type AliOssClient } from '../helpers/ali-oss-client.ts';
import { startCallbackSink, type CallbackSink } from '../helpers/start-callback-sink.ts';
import { startTestServer, type TestServer } from '../helpers/start-test-server.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });

let events: string[] = [];
let storeDir: string;
let server: TestServer;
let sink: CallbackSink;
let dispatcher: CallbackDispatcher;
let client: AliOssClient;

/** The store, with `stored` recorded when putObject resolves. */
function recordingStore(store: ObjectStore): ObjectStore {
  return new Proxy(store, {
    get(target, name) {
      if (name === 'putObject') {
        return async (...args: Parameters<ObjectStore['putObject']>) => {
          const object = await target.putObject(...args);
          events.push('stored');
          return object;
        };
      }
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

beforeAll(async () => {
  sink = await startCallbackSink(publicKey);
  const real = createCallbackDispatcher({
    privateKey,
    keyUrl: 'http://127.0.0.1:9/callback_pub_key_v1.pem',
    owner: 'owner-1',
    now: () => new Date(),
  });
  dispatcher = {
    prepare(spec, facts, context) {
      events.push('prepare');
      return real.prepare(spec, facts, context);
    },
    send(prepared) {
      events.push('send');
      return real.send(prepared);
    },
    dispatch: (spec, facts, context) => real.dispatch(spec, facts, context),
    close: () => real.close(),
  };
  storeDir = await mkdtemp(join(tmpdir(), 'upcall-early-sign-'));
  server = await startTestServer({
    store: recordingStore(await createFsObjectStore({ dataDir: storeDir })),
    callbacks: { dispatcher, forbidPrivateAddresses: false },
  });
  client = ossClient(server);
});

afterAll(async () => {
  await server.close();
  await dispatcher.close();
  await sink.close();
  await rm(storeDir, { recursive: true, force: true });
});

describe('upload callbacks signed while the object is stored', () => {
  it('PutObject: prepared before the store finishes, sent after, with the stored facts', async () => {
    events = [];
    const body = Buffer.from('signed while storing');
    const result = await client.put('early.txt', body, {
      callback: { url: `${sink.url}/cb`, body: 'etag=${etag}&size=${size}&crc=${crc64}&md5=${contentMd5}' },
    });
    expect(result.res.status).toBe(200);
    expect(events).toEqual(['prepare', 'stored', 'send']);
    const received = sink.received.at(-1);
    expect(received?.verified).toBe(true);
    const head = await client.head('early.txt');
    const md5 = createHash('md5').update(body).digest();
    expect(received?.body.toString()).toBe(
      new URLSearchParams({
        etag: md5.toString('hex').toUpperCase(),
        size: String(body.length),
        crc: String(head.res.headers['x-oss-hash-crc64ecma']),
        md5: md5.toString('base64'),
      }).toString(),
    );
  });

  it('PostObject does the same', async () => {
    events = [];
    const policy = encodePostPolicy({
      expiration: new Date(Date.now() + 60_000).toISOString(),
      conditions: [],
    });
    const signature = signPostPolicyV1(server.accessKeySecret, policy);
    const callback = Buffer.from(
      JSON.stringify({ callbackUrl: `${sink.url}/post`, callbackBody: 'o=${object}' }),
    );
    const form = new FormData();
    form.set('key', 'posted.txt');
    form.set('OSSAccessKeyId', server.accessKeyId);
    form.set('policy', policy);
    form.set('Signature', signature);
    form.set('callback', callback.toString('base64'));
    form.set('file', new Blob(['posted body']), 'posted.txt');
    const response = await fetch(`${server.url}/${server.bucket}`, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ Status: 'OK', body: 'o=posted.txt' });
    expect(events).toEqual(['prepare', 'stored', 'send']);
  });

  it('a body template with ${imageInfo.*} waits for the stored object', async () => {
    events = [];
    await client.put('later.txt', Buffer.from('not an image'), {
      callback: { url: `${sink.url}/cb`, body: 'w=${imageInfo.width}&o=${object}' },
    });
    expect(events).toEqual(['stored', 'prepare', 'send']);
  });

  it('an upload refused after its body was hashed sends nothing and stores nothing', async () => {
    events = [];
    const before = sink.received.length;
    const refused = await client
      .put('bad-digest.txt', Buffer.from('the body'), {
        headers: { 'Content-MD5': createHash('md5').update('another body').digest('base64') },
        callback: { url: `${sink.url}/cb`, body: 'o=${object}' },
      })
      .catch((error: unknown) => error as { status: number; code: string });
    expect(refused).toMatchObject({ status: 400, code: 'BadDigest' });
    expect(events).toEqual(['prepare']);
    expect(sink.received).toHaveLength(before);
    await expect(client.head('bad-digest.txt')).rejects.toMatchObject({ status: 404 });
  });
});
