/**
 * Authentication through the real pipeline: ali-oss V1 and V4 header signatures, V1 and V4
 * presigned URLs (signatureUrl / signatureUrlV4, GET and PUT), anonymous access to public-read
 * buckets only, and the OSS errors for bad credentials (SPEC.md §8.3).
 * Temporary credentials (x-oss-security-token) are held to their policy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintTemporaryCredentials, type TemporaryPolicy } from '../../../src/shared/security-token.ts';
import { ossClient, pathStyleClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { errorCode, rawRequest, signedRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
let v1: AliOssClient;
let v4: AliOssClient;

beforeAll(async () => {
  server = await startTestServer({ bucketsToCreate: [{ name: 'upcall-public', acl: 'public-read' }] });
  v1 = ossClient(server);
  v4 = ossClient(server, { authorizationV4: true });
});
afterAll(async () => {
  await server.close();
});

describe('signed requests that must pass', () => {
  it('V1 header signatures (ali-oss default)', async () => {
    await v1.put('auth/v1.txt', Buffer.from('v1'));
    expect(Buffer.from((await v1.get('auth/v1.txt')).content).toString()).toBe('v1');
  });

  it('V4 header signatures (authorizationV4: true)', async () => {
    await v4.put('auth/v4 key+ü.txt', Buffer.from('v4'), { meta: { a: 'b' } });
    expect(Buffer.from((await v4.get('auth/v4 key+ü.txt')).content).toString()).toBe('v4');
    expect((await v4.head('auth/v4 key+ü.txt')).meta).toEqual({ a: 'b' });
  });

  it('V1 presigned GET and PUT URLs (signatureUrl)', async () => {
    const client = pathStyleClient(server);
    const putUrl = client.signatureUrl('auth/presigned v1.txt', {
      method: 'PUT',
      expires: 600,
      'Content-Type': 'text/plain',
    });
    const put = await fetch(putUrl, {
      method: 'PUT',
      body: 'via url',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(put.status).toBe(200);
    const get = await fetch(client.signatureUrl('auth/presigned v1.txt', { expires: 600 }));
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('via url');
  });

  it('V4 presigned GET and PUT URLs (signatureUrlV4)', async () => {
    const client = pathStyleClient(server);
    const putUrl = await client.signatureUrlV4('PUT', 600, { headers: {} }, 'auth/presigned-v4.txt');
    // A Buffer body: fetch adds no Content-Type, which V4 would otherwise need signed.
    const put = await fetch(putUrl, { method: 'PUT', body: Buffer.from('v4 url') });
    expect(put.status).toBe(200);
    const getUrl = await client.signatureUrlV4('GET', 600, {}, 'auth/presigned-v4.txt');
    const get = await fetch(getUrl);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('v4 url');
  });

  it('anonymous reads of a public-read bucket, but not writes', async () => {
    await ossClient(server, { bucket: 'upcall-public' }).put('open.txt', Buffer.from('public'));
    const read = await rawRequest(server.port, { method: 'GET', path: '/upcall-public/open.txt' });
    expect(read.status).toBe(200);
    expect(read.text).toBe('public');
    const write = await rawRequest(server.port, {
      method: 'PUT',
      path: '/upcall-public/open.txt',
      body: 'x',
    });
    expect(write.status).toBe(403);
    expect(errorCode(write)).toBe('AccessDenied');
  });
});

describe('signed requests that must fail (authenticate.ts)', () => {
  it('a wrong secret is SignatureDoesNotMatch with the string-to-sign in the body', async () => {
    const res = await signedRequest(server, {
      method: 'GET',
      bucket: server.bucket,
      key: 'auth/v1.txt',
      accessKeySecret: 'wrong-secret',
    });
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe('SignatureDoesNotMatch');
    expect(res.text).toContain('<StringToSign>GET\n');
    expect(res.text).toContain(`/${server.bucket}/auth/v1.txt</StringToSign>`);
  });

  it('an unknown access key is InvalidAccessKeyId', async () => {
    const res = await signedRequest(server, {
      method: 'GET',
      bucket: server.bucket,
      key: 'auth/v1.txt',
      accessKeyId: 'nobody',
    });
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe('InvalidAccessKeyId');
  });

  it('a request time 20 minutes off is RequestTimeTooSkewed', async () => {
    const res = await signedRequest(server, {
      method: 'GET',
      bucket: server.bucket,
      key: 'auth/v1.txt',
      date: new Date(Date.now() - 20 * 60 * 1000),
    });
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe('RequestTimeTooSkewed');
  });

  it('a malformed Authorization header is refused, never a 500', async () => {
    for (const authorization of ['OSS', 'OSS nocolon', 'Bearer abc', 'OSS4-HMAC-SHA256 garbage']) {
      const res = await rawRequest(server.port, {
        method: 'GET',
        path: `/${server.bucket}/auth/v1.txt`,
        headers: { authorization, 'x-oss-date': new Date().toUTCString() },
      });
      expect([400, 403], authorization).toContain(res.status);
      expect(['InvalidArgument', 'AccessDenied', 'SignatureDoesNotMatch', 'InvalidAccessKeyId']).toContain(
        errorCode(res),
      );
    }
  });

  it('a tampered presigned URL fails and an expired one is AccessDenied', async () => {
    const client = pathStyleClient(server);
    const url = new URL(client.signatureUrl('auth/v1.txt', { expires: 600 }));
    url.pathname = url.pathname.replace('v1.txt', 'v2.txt');
    expect((await fetch(url)).status).toBe(403);
    const expired = new URL(client.signatureUrl('auth/v1.txt', { expires: 600 }));
    expired.searchParams.set('Expires', String(Math.floor(Date.now() / 1000) - 60));
    const res = await fetch(expired);
    expect(res.status).toBe(403);
  });

  it('a wrong V4 secret fails through ali-oss', async () => {
    const bad = ossClient(server, { authorizationV4: true, accessKeySecret: 'wrong' });
    await expect(bad.get('auth/v1.txt')).rejects.toMatchObject({
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
  });

  it('a wrong V4 secret gets the canonical request and string-to-sign in the body', async () => {
    const url = await pathStyleClient(server, { accessKeySecret: 'wrong' }).signatureUrlV4(
      'GET',
      600,
      {},
      'auth/v1.txt',
    );
    const res = await fetch(url);
    const text = await res.text();
    expect(res.status).toBe(403);
    expect(text).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(text).toContain(`<CanonicalRequest>GET\n/${server.bucket}/auth/v1.txt\n`);
    expect(text).toMatch(/<StringToSign>OSS4-HMAC-SHA256\n\d{8}T\d{6}Z\n/);
  });
});

describe('temporary credentials (x-oss-security-token) through ali-oss', () => {
  function stsClient(
    policy: Omit<TemporaryPolicy, 'bucket'> & { bucket?: string },
    v4 = false,
  ): AliOssClient {
    const credentials = mintTemporaryCredentials({
      rootAccessKeyId: server.accessKeyId,
      rootAccessKeySecret: server.accessKeySecret,
      policy: { bucket: server.bucket, ...policy, expiresInSeconds: 900 },
      now: new Date(),
    });
    return ossClient(server, {
      accessKeyId: credentials.AccessKeyId,
      accessKeySecret: credentials.AccessKeySecret,
      stsToken: credentials.SecurityToken,
      authorizationV4: v4,
    });
  }

  it("allows the policy's actions under its prefix, V1 and V4", async () => {
    for (const v4 of [false, true]) {
      const client = stsClient({ prefix: 'users/alice/', actions: ['PutObject', 'GetObject'] }, v4);
      await client.put('users/alice/a.txt', Buffer.from('mine'));
      expect(Buffer.from((await client.get('users/alice/a.txt')).content).toString()).toBe('mine');
    }
  });

  it('denies keys outside the prefix, other actions, other buckets and bucket administration', async () => {
    const client = stsClient({ prefix: 'users/alice/', actions: ['PutObject', 'GetObject'] });
    await expect(client.put('users/bob/a.txt', Buffer.from('x'))).rejects.toMatchObject({
      status: 403,
      code: 'AccessDenied',
    });
    await expect(client.delete('users/alice/a.txt')).rejects.toMatchObject({
      status: 403,
      code: 'AccessDenied',
    });
    const other = stsClient({ bucket: 'upcall-public', actions: ['GetObject'] });
    await expect(other.get('users/alice/a.txt')).rejects.toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(Buffer.from((await v1.get('users/alice/a.txt')).content).toString()).toBe('mine');
  });

  it('requires the upload callback the policy names', async () => {
    const client = stsClient({ actions: ['PutObject'], callbackUrl: 'http://127.0.0.1:9/callback' });
    await expect(client.put('needs-callback.txt', Buffer.from('x'))).rejects.toMatchObject({
      status: 403,
      code: 'AccessDenied',
    });
    await expect(v1.head('needs-callback.txt')).rejects.toMatchObject({ status: 404 });
  });
});
