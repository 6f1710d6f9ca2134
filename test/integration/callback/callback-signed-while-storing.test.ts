// PutObject and PostObject build and sign the upload callback as soon as the body is hashed, while
// the store makes the object durable; how much of the signature that hides is measured by the
// bench (bench/workloads/callback.js), not here. Here, what a client and its app server can see,
// through ali-oss on a real server with an fs store: the callback arrives only once the object is
// stored (the app server can already read it), it carries the stored object's facts and a
// signature that verifies, and an upload refused after its body was hashed sends nothing and
// stores nothing.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodePostPolicy, signPostPolicyV1 } from '../../../src/shared/post-policy.ts';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { okReply, startCallbackSink, type CallbackSink } from '../../helpers/start-callback-sink.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
let sink: CallbackSink;
let client: AliOssClient;
/** For each callback, in arrival order: the key it names and the status of a HEAD made on arrival. */
let seenOnArrival: { key: string; status: number }[] = [];

beforeAll(async () => {
  server = await startTestServer({ backend: 'fs', callback: { keyBits: 1024 } });
  // The sink fetches the PEM from x-oss-pub-key-url: the server's own key route.
  sink = await startCallbackSink();
  client = ossClient(server);
});

afterAll(async () => {
  await sink.close();
  await server.close();
});

beforeEach(() => {
  seenOnArrival = [];
  // Before answering, the app server reads the object its callback names (`?key=` in the URL),
  // as an app that post-processes uploads does.
  sink.reply = (callback, res) => {
    const key = new URL(callback.target, sink.url).searchParams.get('key') ?? '';
    void client
      .head(key)
      .then(
        (head: { res: { status: number } }) => head.res.status,
        (error: unknown) => (error as { status: number }).status,
      )
      .then((status) => {
        seenOnArrival.push({ key, status });
        okReply(callback, res);
      });
  };
});

describe('upload callbacks signed while the object is stored', () => {
  it('PutObject: the callback comes once the object is readable, with its stored facts', async () => {
    const before = sink.received.length;
    const body = Buffer.from('signed while storing');
    const result = await client.put('early.txt', body, {
      callback: {
        url: `${sink.url}/cb?key=early.txt`,
        body: 'etag=${etag}&size=${size}&crc=${crc64}&md5=${contentMd5}',
      },
    });
    expect(result.res.status).toBe(200);
    expect(seenOnArrival).toEqual([{ key: 'early.txt', status: 200 }]);
    expect(sink.received).toHaveLength(before + 1);
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
    const policy = encodePostPolicy({
      expiration: new Date(Date.now() + 60_000).toISOString(),
      conditions: [],
    });
    const signature = signPostPolicyV1(server.accessKeySecret, policy);
    const callback = Buffer.from(
      JSON.stringify({ callbackUrl: `${sink.url}/post?key=posted.txt`, callbackBody: 'o=${object}' }),
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
    expect(await response.json()).toMatchObject({ Status: 'OK', verified: true, body: 'o=posted.txt' });
    expect(seenOnArrival).toEqual([{ key: 'posted.txt', status: 200 }]);
  });

  it('a body template with ${imageInfo.*} is rendered from the stored object', async () => {
    const result = await client.put('later.txt', Buffer.from('not an image'), {
      callback: { url: `${sink.url}/cb?key=later.txt`, body: 'w=${imageInfo.width}&o=${object}' },
    });
    expect(result.res.status).toBe(200);
    expect(seenOnArrival).toEqual([{ key: 'later.txt', status: 200 }]);
    expect(sink.received.at(-1)?.body.toString()).toBe('w=&o=later.txt');
  });

  it('an upload refused after its body was hashed sends nothing and stores nothing', async () => {
    const before = sink.received.length;
    const refused = await client
      .put('bad-digest.txt', Buffer.from('the body'), {
        headers: { 'Content-MD5': createHash('md5').update('another body').digest('base64') },
        callback: { url: `${sink.url}/cb?key=bad-digest.txt`, body: 'o=${object}' },
      })
      .catch((error: unknown) => error as { status: number; code: string });
    expect(refused).toMatchObject({ status: 400, code: 'BadDigest' });
    expect(sink.received).toHaveLength(before);
    expect(seenOnArrival).toEqual([]);
    await expect(client.head('bad-digest.txt')).rejects.toMatchObject({ status: 404 });
  });
});
