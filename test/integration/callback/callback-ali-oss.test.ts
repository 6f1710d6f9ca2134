// Upload callbacks end to end through the official ali-oss client (SPEC.md §6–§8): put,
// putStream, multipartUpload, completeMultipartUpload and a presigned PUT, against a real server
// on 127.0.0.1:0 and a callback sink that verifies each signature with the key the server serves.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ossClient, pathStyleClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { okReply, startCallbackSink, type CallbackSink } from '../../helpers/start-callback-sink.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
let sink: CallbackSink;
let client: AliOssClient;
let scratch: string;

beforeAll(async () => {
  server = await startTestServer({ callback: { keyBits: 1024, timeoutMs: 2000 } });
  // The sink fetches the PEM from x-oss-pub-key-url: the server's own key route.
  sink = await startCallbackSink();
  client = ossClient(server);
  scratch = await mkdtemp(join(tmpdir(), 'upcall-cb-'));
});

afterAll(async () => {
  await sink.close();
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

beforeEach(() => {
  sink.reply = okReply;
  sink.received.length = 0;
});

interface SinkJson {
  Status: string;
  verified: boolean;
  body: string;
}

describe('callbacks through ali-oss', () => {
  it('put: result.data is the app JSON; the callback is signed with the served key', async () => {
    const result = await client.put('photos/a b.txt', Buffer.from('hello callback'), {
      callback: {
        url: `${sink.url}/cb?from=put`,
        host: 'app.example.com',
        body: 'bucket=${bucket}&object=${object}&size=${size}&var1=${x:var1}&op=${operation}',
        contentType: 'application/x-www-form-urlencoded',
        customValue: { var1: 'value 1' },
      },
    });
    expect(result.res.status).toBe(200);
    const data = result.data as SinkJson;
    expect(data.Status).toBe('OK');
    expect(data.verified).toBe(true);
    expect(data.body).toBe(
      `bucket=${server.bucket}&object=photos%2Fa%20b.txt&size=14&var1=value%201&op=PutObject`,
    );
    expect(result.res.headers['etag']).toMatch(/^"[0-9A-F]{32}"$/);
    expect(result.res.headers['content-type']).toBe('application/json');
    const [callback] = sink.received;
    expect(callback!.target).toBe('/cb?from=put');
    expect(callback!.headers['host']).toBe('app.example.com');
    expect(callback!.keyUrl).toBe(`${server.url}/callback_pub_key_v1.pem`);
  });

  it('putStream with a JSON body', async () => {
    const result = await client.putStream('stream.json', Readable.from([Buffer.from('{"a":1}')]), {
      callback: {
        url: sink.url,
        body: '{"object":${object},"size":${size},"mime":${mimeType}}',
        contentType: 'application/json',
      },
    });
    expect((result.data as SinkJson).verified).toBe(true);
    expect(JSON.parse((result.data as SinkJson).body)).toEqual({
      object: 'stream.json',
      size: 7,
      mime: 'application/json',
    });
  });

  it('multipartUpload runs one callback, on Complete, with the whole size and the multipart ETag', async () => {
    const file = join(scratch, 'big.bin');
    await writeFile(file, Buffer.alloc(250 * 1024, 7));
    const result = await client.multipartUpload('big.bin', file, {
      partSize: 100 * 1024,
      callback: { url: sink.url, body: 'size=${size}&etag=${etag}&md5=${contentMd5}&op=${operation}' },
    });
    expect(sink.received).toHaveLength(1);
    const data = result.data as SinkJson;
    expect(data.verified).toBe(true);
    expect(data.body).toMatch(/^size=256000&etag=[0-9A-F]{32}-3&md5=&op=CompleteMultipartUpload$/);
    expect(result.etag).toMatch(/^"[0-9A-F]{32}-3"$/);
  });

  it('completeMultipartUpload with a callback; callback headers on Initiate/UploadPart are ignored', async () => {
    const callbackHeader = Buffer.from(
      JSON.stringify({ callbackUrl: sink.url, callbackBody: 'object=${object}&op=${operation}' }),
    ).toString('base64');
    const init = await client.initMultipartUpload('parts.bin', {
      headers: { 'x-oss-callback': callbackHeader },
    });
    const file = join(scratch, 'part.bin');
    await writeFile(file, Buffer.from('only part'));
    const part = await client.uploadPart('parts.bin', init.uploadId, 1, file, 0, 9, {
      headers: { 'x-oss-callback': callbackHeader },
    });
    expect(sink.received).toHaveLength(0);
    const result = await client.completeMultipartUpload(
      'parts.bin',
      init.uploadId,
      [{ number: 1, etag: part.etag }],
      {
        callback: { url: sink.url, body: 'object=${object}&op=${operation}' },
      },
    );
    expect(result.res.status).toBe(200);
    expect((result.data as SinkJson).body).toBe('object=parts.bin&op=CompleteMultipartUpload');
    expect(result.etag).toMatch(/^"[0-9A-F]{32}-1"$/);
    expect(sink.received).toHaveLength(1);
  });

  it('a failing app server: ali-oss throws CallbackFailedError (203) and the object is readable', async () => {
    sink.reply = (_callback, res) => {
      res.writeHead(502, { 'content-length': 2 });
      res.end('{}');
    };
    const error = (await client
      .put('failed.txt', Buffer.from('still stored'), { callback: { url: sink.url, body: 'k=${object}' } })
      .catch((e: unknown) => e)) as { name: string; status: number; code: string; message: string };
    expect(error.name).toBe('CallbackFailedError');
    expect(error.status).toBe(203);
    expect(error.code).toBe('CallbackFailed');
    expect(error.message).toContain('Error status : 502.');
    const read = await client.get('failed.txt');
    expect(read.content.toString()).toBe('still stored');
  });

  it('a bad callback parameter is a 400 InvalidArgument and nothing is stored', async () => {
    const error = (await client
      .put('never.txt', Buffer.from('x'), { headers: { 'x-oss-callback': 'not base64!' } })
      .catch((e: unknown) => e)) as { status: number; code: string; message: string };
    expect(error.status).toBe(400);
    expect(error.code).toBe('InvalidArgument');
    expect(error.message).toContain('The callback configuration is not base64 encoded.');
    const missing = (await client.head('never.txt').catch((e: unknown) => e)) as { status: number };
    expect(missing.status).toBe(404);
  });

  it('a presigned PUT with callback in the query', async () => {
    const url = pathStyleClient(server).signatureUrl('presigned.txt', {
      method: 'PUT',
      expires: 600,
      callback: { url: sink.url, body: 'object=${object}&v=${x:v}', customValue: { v: 'q' } },
    });
    // A byte body: fetch adds no Content-Type, which the URL was signed without.
    const response = await fetch(url, { method: 'PUT', body: Buffer.from('via presigned url') });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const data = (await response.json()) as SinkJson;
    expect(data.verified).toBe(true);
    expect(data.body).toBe('object=presigned.txt&v=q');
  });

  it('serves the public key PEM at the advertised URL', async () => {
    const response = await fetch(`${server.url}/callback_pub_key_v1.pem`);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });
});

describe('callbacks on PostObject and image uploads', () => {
  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');

  async function postForm(fields: Record<string, string>, file: string): Promise<Response> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('file', new Blob([file], { type: 'text/plain' }), 'upload.txt');
    return fetch(`${server.url}/public-drop/`, { method: 'POST', body: form });
  }

  beforeAll(async () => {
    await server.store.createBucket('public-drop', 'public-read-write');
  });

  it('PostObject: callback form field and x: fields → 200 + the app JSON', async () => {
    const response = await postForm(
      {
        key: 'forms/${filename}',
        callback: b64({
          callbackUrl: sink.url,
          callbackBody: 'object=${object}&v=${x:device}&op=${operation}',
        }),
        'x:device': 'phone 1',
      },
      'posted body',
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('etag')).toMatch(/^"[0-9A-F]{32}"$/);
    const data = (await response.json()) as SinkJson;
    expect(data.verified).toBe(true);
    expect(data.body).toBe('object=forms%2Fupload.txt&v=phone%201&op=PostObject');
  });

  it('PostObject: a failing app → 203 CallbackFailed, object stored; a bad callback field → 400, nothing stored', async () => {
    sink.reply = (_callback, res) => {
      res.writeHead(200, { 'content-length': 3 });
      res.end('bad');
    };
    const failed = await postForm(
      { key: 'forms/failed.txt', callback: b64({ callbackUrl: sink.url, callbackBody: 'a=${object}' }) },
      'kept',
    );
    expect(failed.status).toBe(203);
    const xml = await failed.text();
    expect(xml).toContain('<Code>CallbackFailed</Code>');
    expect(xml).toContain('<Message>Response body is not valid json format.</Message>');
    expect(xml).toContain('<EC>0007-00000205</EC>');
    expect((await server.store.getObject('public-drop', 'forms/failed.txt')).object.size).toBe(4);

    const refused = await postForm(
      { key: 'forms/refused.txt', callback: b64({ callbackUrl: sink.url, callbackBody: 'a=$(object)' }) },
      'never',
    );
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('<Message>The callback body is invalid.</Message>');
    await expect(server.store.getObject('public-drop', 'forms/refused.txt')).rejects.toMatchObject({
      code: 'NoSuchKey',
    });
  });

  it('image uploads fill ${imageInfo.*}; other files leave them empty', async () => {
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
      Buffer.from('IHDR'),
      Buffer.from([0, 0, 0, 200, 0, 0, 1, 22, 8, 6, 0, 0, 0]),
      Buffer.alloc(4),
    ]);
    const callback = {
      url: sink.url,
      body: '{"w":${imageInfo.width},"h":${imageInfo.height},"f":${imageInfo.format},"mime":${mimeType}}',
      contentType: 'application/json',
    };
    const image = await client.put('pic.png', png, { callback });
    expect(JSON.parse((image.data as SinkJson).body)).toEqual({
      w: 200,
      h: 278,
      f: 'png',
      mime: 'image/png',
    });
    const text = await client.put('pic.txt', Buffer.from('not an image'), {
      callback: { url: sink.url, body: 'w=${imageInfo.width}&f=${imageInfo.format}' },
    });
    expect((text.data as SinkJson).body).toBe('w=&f=');
  });
});
