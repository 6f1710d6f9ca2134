// Upload callbacks end to end through the official ali-oss client (SPEC.md §6–§8): put,
// putStream, multipartUpload, completeMultipartUpload and a presigned PUT, against a real server
// on 127.0.0.1:0 and a callback sink that verifies each signature with the key the server serves.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ossClient, pathStyleClient, type AliOssClient } from '../helpers/ali-oss-client.ts';
import { okReply, startCallbackSink, type CallbackSink } from '../helpers/start-callback-sink.ts';
import { startTestServer, type TestServer } from '../helpers/start-test-server.ts';

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
    const response = await fetch(url, { method: 'PUT', body: 'via presigned url' });
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
