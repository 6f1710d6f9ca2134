/**
 * `x-oss-forbid-overwrite: true` through a real server: the store checks it as it commits, so of
 * concurrent uploads to a new key exactly one succeeds (200) and every other gets 409
 * FileAlreadyExists, whichever backend holds the data; CompleteMultipartUpload honours it too.
 */
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, signRequest, signedRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

const KiB = 1024;

function bodyOf(size: number, seed: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + seed * 17) & 0xff;
  return data;
}

/** A body that arrives in `chunks` pieces `delayMs` apart, so uploads started together overlap. */
function slowBody(data: Buffer, chunks: number, delayMs: number): Readable {
  const size = Math.ceil(data.length / chunks);
  return Readable.from(
    (async function* () {
      for (let at = 0; at < data.length; at += size) {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        yield data.subarray(at, at + size);
      }
    })(),
  );
}

async function put(
  server: TestServer,
  key: string,
  data: Buffer,
  slow: { chunks: number; delayMs: number },
): Promise<{ status: number; code: string | undefined; etag: string | undefined }> {
  const headers = {
    'content-type': 'application/octet-stream',
    'x-oss-forbid-overwrite': 'true',
  };
  const signed = signRequest(server, { method: 'PUT', bucket: server.bucket, key, headers });
  const res = await request(`${server.url}${signed.path}`, {
    method: 'PUT',
    headers: { ...signed.headers, 'content-length': String(data.length) },
    body: slowBody(data, slow.chunks, slow.delayMs),
  });
  const text = await res.body.text();
  const etag = res.headers['etag'];
  return {
    status: res.statusCode,
    code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1],
    etag: typeof etag === 'string' ? etag : undefined,
  };
}

describe.each(['fs', 'memory'] as const)('x-oss-forbid-overwrite over the %s store', (backend) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ backend });
  });
  afterAll(async () => {
    await server.close();
  });

  it('of N concurrent PUTs to a new key exactly one gets 200, the rest 409 FileAlreadyExists', async () => {
    const n = 6;
    const datas = Array.from({ length: n }, (_, i) => bodyOf(256 * KiB + i, i + 1));
    // Every upload is under way before any body is complete: a check made only before the body
    // is read passes for all of them.
    const results = await Promise.all(
      datas.map((data) => put(server, 'race/new', data, { chunks: 8, delayMs: 15 })),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => r.status === 409 && r.code === 'FileAlreadyExists')).toHaveLength(n - 1);
    const winner = results.findIndex((r) => r.status === 200);
    const stored = await signedRequest(server, { method: 'GET', bucket: server.bucket, key: 'race/new' });
    expect(stored.status).toBe(200);
    expect(stored.body.equals(datas[winner]!)).toBe(true);
    expect(stored.headers['etag']).toBe(ok[0]!.etag);
  });

  it('refuses an existing key before the body arrives, and leaves it as it was', async () => {
    const first = await put(server, 'race/kept', bodyOf(1000, 9), { chunks: 1, delayMs: 0 });
    expect(first.status).toBe(200);
    const second = await put(server, 'race/kept', bodyOf(64 * KiB, 10), { chunks: 4, delayMs: 5 });
    expect(second).toMatchObject({ status: 409, code: 'FileAlreadyExists' });
    const stored = await signedRequest(server, { method: 'GET', bucket: server.bucket, key: 'race/kept' });
    expect(stored.body.equals(bodyOf(1000, 9))).toBe(true);
  });

  it('CompleteMultipartUpload with it refuses an existing object and keeps the upload', async () => {
    const key = 'race/multipart';
    const existing = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key,
      body: 'existing',
    });
    expect(existing.status).toBe(200);
    const init = await signedRequest(server, {
      method: 'POST',
      bucket: server.bucket,
      key,
      subresources: { uploads: '' },
    });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.text)?.[1] ?? '';
    const part = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key,
      subresources: { partNumber: '1', uploadId },
      body: 'multipart body',
    });
    const complete = (forbid: string) =>
      signedRequest(server, {
        method: 'POST',
        bucket: server.bucket,
        key,
        subresources: { uploadId },
        headers: { 'content-type': 'application/xml', 'x-oss-forbid-overwrite': forbid },
        body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${String(part.headers['etag'])}</ETag></Part></CompleteMultipartUpload>`,
      });
    const refused = await complete('true');
    expect(refused.status).toBe(409);
    expect(errorCode(refused)).toBe('FileAlreadyExists');
    const kept = await signedRequest(server, { method: 'GET', bucket: server.bucket, key });
    expect(kept.text).toBe('existing');
    // The upload is still there: completing it without the header replaces the object.
    const done = await complete('false');
    expect(done.status).toBe(200);
    expect((await signedRequest(server, { method: 'GET', bucket: server.bucket, key })).text).toBe(
      'multipart body',
    );
  });
});
