/**
 * Bucket CORS through the official ali-oss SDK (putBucketCORS / getBucketCORS / deleteBucketCORS)
 * and raw fetch for what a browser sends (preflight OPTIONS, requests with Origin), on both store
 * backends: rules are per bucket, the first matching rule answers, and without one there is no
 * CORS header at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { errorCode as rawErrorCode, signedRequest } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

const OTHER_BUCKET = 'upcall-cors-other';
const APP = 'https://app.example.com';

describe.each(['fs', 'memory'] as const)('bucket CORS on the %s store', (backend) => {
  let server: TestServer;
  let client: AliOssClient;

  beforeAll(async () => {
    server = await startTestServer({ backend });
    await server.store.createBucket(OTHER_BUCKET, 'private');
    client = ossClient(server);
  });
  afterAll(async () => {
    await server.close();
  });

  function preflight(bucket: string, path: string, headers: Record<string, string>): Promise<Response> {
    return fetch(`${server.url}/${bucket}/${path}`, { method: 'OPTIONS', headers });
  }

  async function errorCode(response: Response): Promise<string | undefined> {
    return /<Code>([^<]*)<\/Code>/.exec(await response.text())?.[1];
  }

  it('answers NoSuchCORSConfiguration until rules are put, then round-trips them', async () => {
    await expect(client.getBucketCORS(server.bucket)).rejects.toMatchObject({
      status: 404,
      code: 'NoSuchCORSConfiguration',
    });
    await client.putBucketCORS(server.bucket, [
      {
        allowedOrigin: ['https://*.example.com', 'http://localhost:3000'],
        allowedMethod: ['PUT', 'POST', 'GET'],
        allowedHeader: ['*'],
        exposeHeader: ['ETag', 'x-oss-request-id'],
        maxAgeSeconds: '600',
      },
      { allowedOrigin: '*', allowedMethod: 'GET' },
    ]);
    const { rules } = (await client.getBucketCORS(server.bucket)) as { rules: Record<string, unknown>[] };
    expect(rules).toEqual([
      {
        allowedOrigin: ['https://*.example.com', 'http://localhost:3000'],
        allowedMethod: ['PUT', 'POST', 'GET'],
        allowedHeader: '*',
        exposeHeader: ['ETag', 'x-oss-request-id'],
        maxAgeSeconds: '600',
      },
      { allowedOrigin: '*', allowedMethod: 'GET' },
    ]);
    // Rules belong to their bucket.
    await expect(client.getBucketCORS(OTHER_BUCKET)).rejects.toMatchObject({
      code: 'NoSuchCORSConfiguration',
    });
  });

  it('answers a preflight from the first matching rule', async () => {
    const response = await preflight(server.bucket, 'photo.jpg?uploads', {
      Origin: APP,
      'Access-Control-Request-Method': 'PUT',
      'Access-Control-Request-Headers': 'content-type, x-oss-date, Authorization',
    });
    expect(response.status).toBe(200);
    const expected = {
      'access-control-allow-origin': APP,
      'access-control-allow-methods': 'PUT, POST, GET',
      'access-control-allow-headers': 'content-type, x-oss-date, authorization',
      'access-control-expose-headers': 'ETag, x-oss-request-id',
      'access-control-max-age': '600',
    };
    for (const [name, value] of Object.entries(expected))
      expect(response.headers.get(name), name).toBe(value);
    // The second rule allows GET from anywhere.
    const anywhere = await preflight(server.bucket, 'photo.jpg', {
      Origin: 'https://elsewhere.test',
      'Access-Control-Request-Method': 'GET',
    });
    expect(anywhere.status).toBe(200);
    expect(anywhere.headers.get('access-control-allow-origin')).toBe('https://elsewhere.test');
  });

  it('refuses a preflight no rule allows with 403 AccessForbidden and no CORS header', async () => {
    for (const headers of [
      { Origin: 'https://elsewhere.test', 'Access-Control-Request-Method': 'PUT' },
      { Origin: APP, 'Access-Control-Request-Method': 'DELETE' },
      { Origin: 'https://example.com.evil.test', 'Access-Control-Request-Method': 'PUT' },
      { Origin: APP },
    ]) {
      const response = await preflight(server.bucket, 'photo.jpg', headers);
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(await errorCode(response)).toBe('AccessForbidden');
    }
    const noRules = await preflight(OTHER_BUCKET, 'photo.jpg', {
      Origin: APP,
      'Access-Control-Request-Method': 'PUT',
    });
    expect(noRules.status).toBe(403);
    expect(noRules.headers.get('access-control-allow-origin')).toBeNull();
    const missing = await preflight('upcall-no-such-bucket', 'k', {
      Origin: APP,
      'Access-Control-Request-Method': 'PUT',
    });
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe('NoSuchBucket');
  });

  it('adds the matching rule headers to actual requests, errors included, and nothing otherwise', async () => {
    await client.put('cors/hello.txt', Buffer.from('hello'), {
      headers: { 'x-oss-object-acl': 'public-read' },
    });
    const url = `${server.url}/${server.bucket}/cors/hello.txt`;
    const allowed = await fetch(url, { headers: { Origin: APP } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(allowed.headers.get('access-control-expose-headers')).toBe('ETag, x-oss-request-id');
    const denied = await fetch(`${server.url}/${server.bucket}/cors/missing.txt`, {
      method: 'DELETE',
      headers: { Origin: APP },
    });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const error = await fetch(`${server.url}/${server.bucket}/cors/missing.txt`, {
      headers: { Origin: APP },
    });
    expect(error.status).toBe(403);
    expect(error.headers.get('access-control-allow-origin')).toBe(APP);
    const otherOrigin = await fetch(url, { headers: { Origin: 'https://elsewhere.test', 'X-Probe': '1' } });
    expect(otherOrigin.headers.get('access-control-allow-origin')).toBe('https://elsewhere.test');
    const otherBucket = await fetch(`${server.url}/${OTHER_BUCKET}/k`, { headers: { Origin: APP } });
    expect(otherBucket.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses bad configurations with the OSS error and keeps the old rules', async () => {
    const put = (xml: string): Promise<Response> =>
      fetch(`${server.url}/${server.bucket}?cors`, { method: 'PUT', body: xml });
    // Unsigned: only the owner may set rules.
    expect(await errorCode(await put('<CORSConfiguration/>'))).toBe('AccessDenied');
    await expect(
      client.putBucketCORS(server.bucket, [{ allowedOrigin: 'a*b*', allowedMethod: 'GET' }]),
    ).rejects.toMatchObject({
      status: 400,
      code: 'InvalidArgument',
    });
    await expect(
      client.putBucketCORS(server.bucket, [{ allowedOrigin: '*', allowedMethod: 'PATCH' }]),
    ).rejects.toMatchObject({
      status: 400,
      code: 'InvalidArgument',
    });
    for (const [body, code] of [
      ['not xml', 'MalformedXML'],
      ['<Other/>', 'MalformedXML'],
      [
        '<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>',
        'MalformedXML',
      ],
      [
        '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>soon</MaxAgeSeconds></CORSRule></CORSConfiguration>',
        'MalformedXML',
      ],
      [`<CORSConfiguration>${'<CORSRule>'.repeat(40_000)}`, 'MalformedXML'],
    ] as const) {
      const response = await signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        subresources: { cors: '' },
        headers: { 'content-type': 'application/xml' },
        body,
      });
      expect(response.status, body.slice(0, 80)).toBe(400);
      expect(rawErrorCode(response), body.slice(0, 80)).toBe(code);
    }
    const tooMany = Array.from({ length: 21 }, () => ({ allowedOrigin: '*', allowedMethod: 'GET' }));
    await expect(client.putBucketCORS(server.bucket, tooMany)).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    expect(((await client.getBucketCORS(server.bucket)) as { rules: unknown[] }).rules).toHaveLength(2);
  });

  it('deleteBucketCORS removes every rule: preflights are refused again', async () => {
    await client.deleteBucketCORS(server.bucket);
    await client.deleteBucketCORS(server.bucket);
    await expect(client.getBucketCORS(server.bucket)).rejects.toMatchObject({
      code: 'NoSuchCORSConfiguration',
    });
    const response = await preflight(server.bucket, 'photo.jpg', {
      Origin: APP,
      'Access-Control-Request-Method': 'PUT',
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
