/**
 * `x-oss-forbid-overwrite` wherever OSS reads it, through a real server: a value other than
 * `true`/`false` is 400 InvalidArgument (EC 0017-00000279 for the header, 0006-00000117 for the
 * PostObject form field) with nothing stored; the PostObject form field and the
 * InitiateMultipartUpload header refuse an existing object with 409 FileAlreadyExists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, signedRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
const publicBucket = 'forbid-overwrite-post';

beforeAll(async () => {
  server = await startTestServer({ backend: 'memory' });
  await server.store.createBucket(publicBucket, 'public-read-write');
});
afterAll(async () => {
  await server.close();
});

function ecOf(text: string): string | undefined {
  return /<EC>([^<]*)<\/EC>/.exec(text)?.[1];
}

async function exists(bucket: string, key: string): Promise<boolean> {
  const res = await signedRequest(server, { method: 'HEAD', bucket, key });
  return res.status === 200;
}

async function post(key: string, fields: Record<string, string>, content = 'posted') {
  const form = new FormData();
  form.append('key', key);
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([content], { type: 'text/plain' }), 'file.txt');
  const response = await fetch(`${server.url}/${publicBucket}/`, { method: 'POST', body: form });
  const text = await response.text();
  return { status: response.status, text, code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1] };
}

describe('x-oss-forbid-overwrite values', () => {
  it('PutObject with a value other than true/false is 400 InvalidArgument EC 0017-00000279, nothing stored', async () => {
    const res = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key: 'bad-value',
      headers: { 'x-oss-forbid-overwrite': 'yes' },
      body: 'data',
    });
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('InvalidArgument');
    expect(ecOf(res.text)).toBe('0017-00000279');
    expect(res.text).toContain('<ArgumentName>x-oss-forbid-overwrite</ArgumentName>');
    expect(await exists(server.bucket, 'bad-value')).toBe(false);
  });

  it('accepts TRUE and False in any case', async () => {
    const first = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key: 'cased',
      headers: { 'x-oss-forbid-overwrite': 'False' },
      body: 'one',
    });
    expect(first.status).toBe(200);
    const second = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key: 'cased',
      headers: { 'x-oss-forbid-overwrite': 'TRUE' },
      body: 'two',
    });
    expect(second.status).toBe(409);
    expect(errorCode(second)).toBe('FileAlreadyExists');
  });

  it('CopyObject with a bad value is 400 InvalidArgument', async () => {
    await signedRequest(server, { method: 'PUT', bucket: server.bucket, key: 'copy-src', body: 'src' });
    const res = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key: 'copy-dst',
      headers: { 'x-oss-copy-source': `/${server.bucket}/copy-src`, 'x-oss-forbid-overwrite': '1' },
    });
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('InvalidArgument');
    expect(await exists(server.bucket, 'copy-dst')).toBe(false);
  });
});

describe('PostObject x-oss-forbid-overwrite form field', () => {
  it('true onto an existing key is 409 FileAlreadyExists and the object stays', async () => {
    expect((await post('post-existing', {}, 'first')).status).toBe(204);
    const refused = await post('post-existing', { 'x-oss-forbid-overwrite': 'true' }, 'second');
    expect(refused.status).toBe(409);
    expect(refused.code).toBe('FileAlreadyExists');
    const { body } = await server.store.getObject(publicBucket, 'post-existing');
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('first');
  });

  it('true onto a new key stores it; false overwrites', async () => {
    expect((await post('post-new', { 'x-oss-forbid-overwrite': 'true' })).status).toBe(204);
    expect((await post('post-new', { 'x-oss-forbid-overwrite': 'false' })).status).toBe(204);
  });

  it('a value other than true/false is 400 InvalidArgument EC 0006-00000117, nothing stored', async () => {
    const res = await post('post-bad', { 'x-oss-forbid-overwrite': 'abc' });
    expect(res.status).toBe(400);
    expect(res.code).toBe('InvalidArgument');
    expect(ecOf(res.text)).toBe('0006-00000117');
    expect(await exists(publicBucket, 'post-bad')).toBe(false);
  });
});

describe('InitiateMultipartUpload x-oss-forbid-overwrite', () => {
  it('true onto an existing object is 409 FileAlreadyExists and starts no upload', async () => {
    await signedRequest(server, { method: 'PUT', bucket: server.bucket, key: 'mpu-existing', body: 'x' });
    const res = await signedRequest(server, {
      method: 'POST',
      bucket: server.bucket,
      key: 'mpu-existing',
      subresources: { uploads: '' },
      headers: { 'x-oss-forbid-overwrite': 'true' },
    });
    expect(res.status).toBe(409);
    expect(errorCode(res)).toBe('FileAlreadyExists');
    const list = await signedRequest(server, {
      method: 'GET',
      bucket: server.bucket,
      subresources: { uploads: '' },
    });
    expect(list.text).not.toContain('<Key>mpu-existing</Key>');
  });

  it('true onto a new key starts the upload; a bad value is 400 InvalidArgument', async () => {
    const ok = await signedRequest(server, {
      method: 'POST',
      bucket: server.bucket,
      key: 'mpu-new',
      subresources: { uploads: '' },
      headers: { 'x-oss-forbid-overwrite': 'true' },
    });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('<UploadId>');
    const bad = await signedRequest(server, {
      method: 'POST',
      bucket: server.bucket,
      key: 'mpu-new',
      subresources: { uploads: '' },
      headers: { 'x-oss-forbid-overwrite': 'maybe' },
    });
    expect(bad.status).toBe(400);
    expect(errorCode(bad)).toBe('InvalidArgument');
  });
});
