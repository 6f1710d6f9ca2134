/**
 * Real requests from the official ali-oss client (V1 and V4, with and without an STS token, and
 * its presigned URLs) captured by a 127.0.0.1 server and checked by authenticate().
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, DEFAULT_MAX_SKEW_MS } from '../../../src/server/pipeline/authenticate.ts';
import type { Principal } from '../../../src/server/pipeline/principal.ts';
import { isOssError } from '../../../src/shared/oss-error.ts';
import { mintTemporaryCredentials } from '../../../src/shared/security-token.ts';

const OSS = createRequire(import.meta.url)('ali-oss');

const ROOT_ID = 'LTAIroot';
const ROOT_SECRET = 'root-secret-value';
const BUCKET = 'bkt';

type Outcome = { ok: true; principal: Principal } | { ok: false; code: string };

let server: Server;
let port = 0;
const outcomes: Outcome[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    const rawPath = url.pathname;
    // The client is configured with cname: true, so the path is the key (virtual-host style).
    const key = decodeURIComponent(rawPath.slice(1));
    req.resume();
    req.on('end', () => {
      try {
        const principal = authenticate(
          {
            method: req.method ?? 'GET',
            rawPath,
            query: url.searchParams,
            headers: req.headers,
            bucket: BUCKET,
            ...(key === '' ? {} : { key }),
          },
          {
            credentials: (id) => (id === ROOT_ID ? ROOT_SECRET : undefined),
            now: () => new Date(),
            maxSkewMs: DEFAULT_MAX_SKEW_MS,
          },
        );
        outcomes.push({ ok: true, principal });
      } catch (error) {
        outcomes.push({ ok: false, code: isOssError(error) ? error.code : String(error) });
      }
      res.setHeader('ETag', '"d41d8cd98f00b204e9800998ecf8427e"');
      res.setHeader('x-oss-request-id', 'test');
      if (url.searchParams.has('uploads')) {
        res.setHeader('Content-Type', 'application/xml');
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>${BUCKET}</Bucket><Key>${key}</Key><UploadId>UPLOAD1</UploadId></InitiateMultipartUploadResult>`,
        );
        return;
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Client {
  put(name: string, content: Buffer, options?: Record<string, unknown>): Promise<unknown>;
  get(name: string): Promise<unknown>;
  head(name: string): Promise<unknown>;
  delete(name: string): Promise<unknown>;
  list(query: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown>;
  initMultipartUpload(name: string): Promise<unknown>;
  putACL(name: string, acl: string): Promise<unknown>;
  append(name: string, content: Buffer, options?: Record<string, unknown>): Promise<unknown>;
  uploadPart(
    name: string,
    uploadId: string,
    partNo: number,
    file: string,
    start: number,
    end: number,
  ): Promise<unknown>;
  signatureUrl(name: string, options?: Record<string, unknown>): string;
  signatureUrlV4(
    method: string,
    expires: number,
    request?: Record<string, unknown>,
    objectName?: string,
    additionalHeaders?: string[],
  ): Promise<string>;
}

function client(options: { v4?: boolean; id?: string; secret?: string; stsToken?: string } = {}): Client {
  return new OSS({
    accessKeyId: options.id ?? ROOT_ID,
    accessKeySecret: options.secret ?? ROOT_SECRET,
    bucket: BUCKET,
    region: 'oss-cn-hangzhou',
    endpoint: `http://localhost:${port}`,
    cname: true,
    authorizationV4: options.v4 === true,
    retryMax: 0,
    ...(options.stsToken === undefined ? {} : { stsToken: options.stsToken }),
  }) as Client;
}

/** Runs `action` and returns what authenticate() said about each request it made. */
async function captured(action: () => Promise<unknown>): Promise<Outcome[]> {
  outcomes.length = 0;
  await action().catch(() => undefined);
  return [...outcomes];
}

/** Fetches a presigned URL at 127.0.0.1 (the host is not signed unless listed as additional). */
async function fetchSigned(signed: string, init: RequestInit = {}): Promise<Outcome[]> {
  const url = new URL(signed);
  url.hostname = '127.0.0.1';
  outcomes.length = 0;
  const response = await fetch(url, init);
  await response.arrayBuffer();
  return [...outcomes];
}

const root: Outcome = { ok: true, principal: { kind: 'root', accessKeyId: ROOT_ID } };

describe.each([
  ['V1', false],
  ['V4', true],
])('ali-oss %s header signing', (_name, v4) => {
  it('authenticates put (with callback headers and metadata), get, head, delete and list', async () => {
    const c = client({ v4 });
    const callback = {
      callback: {
        url: 'http://127.0.0.1:9/cb',
        body: 'object=${object}&size=${size}',
        customValue: { uid: '42' },
      },
      headers: { 'x-oss-meta-owner': 'alice', 'Cache-Control': 'no-cache' },
    };
    expect(await captured(() => c.put('dir/a b+c.txt', Buffer.from('hello'), callback))).toEqual([root]);
    expect(await captured(() => c.put('中文/文件.txt', Buffer.from('x')))).toEqual([root]);
    expect(await captured(() => c.get('dir/a b+c.txt'))).toEqual([root]);
    expect(await captured(() => c.head('dir/x'))).toEqual([root]);
    expect(await captured(() => c.delete('dir/x'))).toEqual([root]);
    expect(await captured(() => c.list({ prefix: 'dir/', 'max-keys': 10, delimiter: '/' }))).toEqual([root]);
  });

  it('authenticates multipart sub-resources (uploads, partNumber + uploadId) and acl', async () => {
    const c = client({ v4 });
    expect(await captured(() => c.initMultipartUpload('big.bin'))).toEqual([root]);
    expect(await captured(() => c.putACL('big.bin', 'public-read'))).toEqual([root]);
    expect(await captured(() => c.append('log.txt', Buffer.from('a'), { position: '0' }))).toEqual([root]);
  });

  it('authenticates an STS client as a temporary principal carrying its policy', async () => {
    const creds = mintTemporaryCredentials({
      rootAccessKeyId: ROOT_ID,
      rootAccessKeySecret: ROOT_SECRET,
      policy: { bucket: BUCKET, prefix: 'u/', actions: ['PutObject'], expiresInSeconds: 600 },
      now: new Date(),
    });
    const c = client({
      v4,
      id: creds.AccessKeyId,
      secret: creds.AccessKeySecret,
      stsToken: creds.SecurityToken,
    });
    expect(await captured(() => c.put('u/a.txt', Buffer.from('x')))).toEqual([
      {
        ok: true,
        principal: {
          kind: 'temporary',
          accessKeyId: creds.AccessKeyId,
          policy: { bucket: BUCKET, prefix: 'u/', actions: ['PutObject'] },
        },
      },
    ]);
  });

  it('rejects a wrong secret, an unknown key and a token minted with another root secret', async () => {
    expect(await captured(() => client({ v4, secret: 'wrong' }).put('k', Buffer.from('x')))).toEqual([
      { ok: false, code: 'SignatureDoesNotMatch' },
    ]);
    expect(await captured(() => client({ v4, id: 'LTAIunknown' }).get('k'))).toEqual([
      { ok: false, code: 'InvalidAccessKeyId' },
    ]);
    const forged = mintTemporaryCredentials({
      rootAccessKeyId: ROOT_ID,
      rootAccessKeySecret: 'not-the-root-secret',
      policy: { bucket: BUCKET, actions: ['GetObject'], expiresInSeconds: 600 },
      now: new Date(),
    });
    const c = client({
      v4,
      id: forged.AccessKeyId,
      secret: forged.AccessKeySecret,
      stsToken: forged.SecurityToken,
    });
    expect(await captured(() => c.get('k'))).toEqual([{ ok: false, code: 'InvalidSecurityToken' }]);
  });
});

describe('ali-oss presigned URLs', () => {
  it('accepts signatureUrl GET, with response overrides and with an STS token', async () => {
    expect(await fetchSigned(client().signatureUrl('dir/a b.txt', { expires: 600 }))).toEqual([root]);
    expect(
      await fetchSigned(
        client().signatureUrl('k', {
          response: { 'content-type': 'text/plain', 'cache-control': 'no-cache' },
        }),
      ),
    ).toEqual([root]);
    const creds = mintTemporaryCredentials({
      rootAccessKeyId: ROOT_ID,
      rootAccessKeySecret: ROOT_SECRET,
      policy: { bucket: BUCKET, actions: ['GetObject'], expiresInSeconds: 600 },
      now: new Date(),
    });
    const sts = client({
      id: creds.AccessKeyId,
      secret: creds.AccessKeySecret,
      stsToken: creds.SecurityToken,
    });
    const [outcome] = await fetchSigned(sts.signatureUrl('k'));
    expect(outcome).toMatchObject({
      ok: true,
      principal: { kind: 'temporary', accessKeyId: creds.AccessKeyId },
    });
  });

  it('accepts signatureUrl with an image process and a traffic limit (x-oss-* sub-resources)', async () => {
    const signed = client().signatureUrl('img.jpg', { process: 'image/resize,w_100', trafficLimit: 819200 });
    expect(new URL(signed).searchParams.get('x-oss-process')).toBe('image/resize,w_100');
    expect(await fetchSigned(signed)).toEqual([root]);
    const tampered = new URL(signed);
    tampered.searchParams.set('x-oss-process', 'image/resize,w_2000');
    expect(await fetchSigned(tampered.href)).toEqual([{ ok: false, code: 'SignatureDoesNotMatch' }]);
  });

  it('accepts a signatureUrl PUT with a callback and content type, and refuses a different content type', async () => {
    const signed = client().signatureUrl('up/photo.jpg', {
      method: 'PUT',
      'Content-Type': 'image/jpeg',
      callback: { url: 'http://127.0.0.1:9/cb', body: 'object=${object}', customValue: { uid: '7' } },
    });
    const put = (type: string) =>
      fetchSigned(signed, { method: 'PUT', body: 'jpeg', headers: { 'Content-Type': type } });
    expect(await put('image/jpeg')).toEqual([root]);
    expect(await put('image/png')).toEqual([{ ok: false, code: 'SignatureDoesNotMatch' }]);
  });

  it('refuses a tampered or expired signatureUrl', async () => {
    const signed = new URL(client().signatureUrl('k', { expires: 600 }));
    const tampered = new URL(signed);
    tampered.pathname = '/other';
    expect(await fetchSigned(tampered.href)).toEqual([{ ok: false, code: 'SignatureDoesNotMatch' }]);
    const expired = client().signatureUrl('k', { expires: -60 });
    expect(await fetchSigned(expired)).toEqual([{ ok: false, code: 'AccessDenied' }]);
  });

  it('accepts signatureUrlV4 GET and PUT, with queries, signed headers and an STS token', async () => {
    const signedGet = await client().signatureUrlV4(
      'GET',
      600,
      { queries: { 'response-content-type': 'a b' } },
      'dir/o b.txt',
    );
    expect(await fetchSigned(signedGet)).toEqual([root]);
    const signedPut = await client().signatureUrlV4(
      'PUT',
      600,
      { headers: { 'content-type': 'text/plain', 'x-oss-meta-a': '1' } },
      'k',
    );
    expect(
      await fetchSigned(signedPut, {
        method: 'PUT',
        body: 'x',
        headers: { 'content-type': 'text/plain', 'x-oss-meta-a': '1' },
      }),
    ).toEqual([root]);
    expect(
      await fetchSigned(signedPut, {
        method: 'PUT',
        body: 'x',
        headers: { 'content-type': 'text/plain', 'x-oss-meta-a': '2' },
      }),
    ).toEqual([{ ok: false, code: 'SignatureDoesNotMatch' }]);
    const creds = mintTemporaryCredentials({
      rootAccessKeyId: ROOT_ID,
      rootAccessKeySecret: ROOT_SECRET,
      policy: { bucket: BUCKET, actions: ['GetObject'], expiresInSeconds: 600 },
      now: new Date(),
    });
    const sts = client({
      id: creds.AccessKeyId,
      secret: creds.AccessKeySecret,
      stsToken: creds.SecurityToken,
    });
    const [outcome] = await fetchSigned(await sts.signatureUrlV4('GET', 60, {}, 'k'));
    expect(outcome).toMatchObject({ ok: true, principal: { kind: 'temporary' } });
  });
});
