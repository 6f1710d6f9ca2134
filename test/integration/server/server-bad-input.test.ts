/**
 * The bad-input table: raw HTTP requests ali-oss cannot express. Every row must return the right
 * OSS error code and status with a well-formed error document; after every row the server still
 * serves and the objects stored before are unchanged.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc64 } from '../../../src/shared/crc64.ts';
import {
  errorCode,
  rawRequest,
  signedRequest,
  signRequest,
  type RawResponse,
} from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';
import { expectVictimIntact, storeVictim, VICTIM, VICTIM_BODY } from '../../helpers/victim-object.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await storeVictim(server);
});
afterAll(async () => {
  await server.close();
});

const md5 = (data: string) => createHash('md5').update(data).digest('base64');

interface Row {
  name: string;
  send: () => Promise<RawResponse>;
  status: number;
  code: string;
}

const rows: Row[] = [
  {
    name: 'overlong key (1024 bytes)',
    send: () =>
      signedRequest(server, { method: 'PUT', bucket: server.bucket, key: 'k'.repeat(1024), body: 'x' }),
    status: 400,
    code: 'KeyTooLong',
  },
  {
    name: 'overlong key in multi-byte characters',
    send: () => signedRequest(server, { method: 'GET', bucket: server.bucket, key: '文'.repeat(342) }),
    status: 400,
    code: 'KeyTooLong',
  },
  {
    name: 'key with a broken percent escape',
    send: () => rawRequest(server.port, { method: 'GET', path: `/${server.bucket}/a%ZZb` }),
    status: 400,
    code: 'InvalidObjectName',
  },
  {
    name: 'key that is not UTF-8',
    send: () => rawRequest(server.port, { method: 'GET', path: `/${server.bucket}/a%FFb` }),
    status: 400,
    code: 'InvalidObjectName',
  },
  {
    name: 'key starting with a backslash',
    send: () => signedRequest(server, { method: 'PUT', bucket: server.bucket, key: '\\evil', body: 'x' }),
    status: 400,
    code: 'InvalidObjectName',
  },
  {
    name: 'invalid bucket name',
    send: () => rawRequest(server.port, { method: 'GET', path: '/Bad_Bucket/key' }),
    status: 400,
    code: 'InvalidBucketName',
  },
  {
    name: 'unknown bucket',
    send: () => signedRequest(server, { method: 'GET', bucket: 'no-such-bucket', key: 'k' }),
    status: 404,
    code: 'NoSuchBucket',
  },
  {
    name: 'unknown key',
    send: () => signedRequest(server, { method: 'GET', bucket: server.bucket, key: 'no/such/key' }),
    status: 404,
    code: 'NoSuchKey',
  },
  {
    name: 'wrong Content-MD5',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        headers: { 'Content-MD5': md5('something else') },
        body: 'replacement',
      }),
    status: 400,
    code: 'BadDigest',
  },
  {
    name: 'Content-MD5 that is not a base64 MD5',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        headers: { 'Content-MD5': 'not-an-md5' },
        body: 'replacement',
      }),
    status: 400,
    code: 'InvalidDigest',
  },
  {
    name: 'wrong x-oss-hash-crc64ecma',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        headers: { 'x-oss-hash-crc64ecma': crc64(Buffer.from('other')).toString() },
        body: 'replacement',
      }),
    status: 400,
    code: 'InvalidCRC64',
  },
  {
    name: 'x-oss-hash-crc64ecma that is not a number',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        headers: { 'x-oss-hash-crc64ecma': 'abc' },
        body: 'replacement',
      }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'unsatisfiable range',
    send: () =>
      signedRequest(server, {
        method: 'GET',
        bucket: server.bucket,
        key: VICTIM,
        headers: { Range: 'bytes=1000-' },
      }),
    status: 416,
    code: 'InvalidRange',
  },
  {
    name: 'garbage XML for CompleteMultipartUpload',
    send: () =>
      signedRequest(server, {
        method: 'POST',
        bucket: server.bucket,
        key: VICTIM,
        subresources: { uploadId: 'abc' },
        body: '<CompleteMultipartUpload><Part>',
      }),
    status: 400,
    code: 'MalformedXML',
  },
  {
    name: 'unsupported sub-resource',
    send: () =>
      signedRequest(server, {
        method: 'GET',
        bucket: server.bucket,
        key: VICTIM,
        subresources: { symlink: '' },
      }),
    status: 501,
    code: 'NotImplemented',
  },
  {
    name: 'PutObject with an unknown x-oss-object-acl',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: 'acl-bad',
        headers: { 'x-oss-object-acl': 'public' },
        body: 'x',
      }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'PutObjectAcl without x-oss-object-acl',
    send: () =>
      signedRequest(server, { method: 'PUT', bucket: server.bucket, key: VICTIM, subresources: { acl: '' } }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'PutObjectAcl on a missing object',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: 'no-such-object',
        subresources: { acl: '' },
        headers: { 'x-oss-object-acl': 'private' },
      }),
    status: 404,
    code: 'NoSuchKey',
  },
  {
    name: 'PutObject with an x-oss-tagging pair holding two =',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: 'tag-bad',
        headers: { 'x-oss-tagging': 'aa=bb=cc' },
        body: 'x',
      }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'CopyObject with an unknown x-oss-tagging-directive',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: 'tag-copy',
        headers: { 'x-oss-copy-source': `/${server.bucket}/${VICTIM}`, 'x-oss-tagging-directive': 'MERGE' },
      }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'PutObject with 11 tags',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: 'tag-bad',
        headers: { 'x-oss-tagging': Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&') },
        body: 'x',
      }),
    status: 400,
    code: 'InvalidTag',
  },
  {
    name: 'PutObjectTagging with a repeated key',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        subresources: { tagging: '' },
        body: '<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>',
      }),
    status: 400,
    code: 'InvalidTag',
  },
  {
    name: 'PutObjectTagging with a 129-character key',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        subresources: { tagging: '' },
        body: `<Tagging><TagSet><Tag><Key>${'k'.repeat(129)}</Key><Value>1</Value></Tag></TagSet></Tagging>`,
      }),
    status: 400,
    code: 'InvalidTag',
  },
  {
    name: 'PutObjectTagging with a Tag missing its Value',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        subresources: { tagging: '' },
        body: '<Tagging><TagSet><Tag><NoKey>a</NoKey></Tag></TagSet></Tagging>',
      }),
    status: 400,
    code: 'MalformedXML',
  },
  {
    name: 'PutObjectTagging with a body that is not XML',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        subresources: { tagging: '' },
        body: '<Tagging><TagSet>',
      }),
    status: 400,
    code: 'MalformedXML',
  },
  {
    name: 'method OSS does not have',
    send: () => signedRequest(server, { method: 'PATCH', bucket: server.bucket, key: VICTIM, body: 'x' }),
    status: 405,
    code: 'MethodNotAllowed',
  },
  {
    name: 'bad x-oss-metadata-directive',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        headers: { 'x-oss-copy-source': `/${server.bucket}/${VICTIM}`, 'x-oss-metadata-directive': 'MOVE' },
      }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'copy source without a key',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        headers: { 'x-oss-copy-source': `/${server.bucket}/` },
      }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'append position that is not a number',
    send: () =>
      signedRequest(server, {
        method: 'POST',
        bucket: server.bucket,
        key: 'appendable',
        subresources: { append: '', position: 'x' },
        body: 'x',
      }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'append to a Normal object',
    send: () =>
      signedRequest(server, {
        method: 'POST',
        bucket: server.bucket,
        key: VICTIM,
        subresources: { append: '', position: String(VICTIM_BODY.length) },
        body: 'x',
      }),
    status: 409,
    code: 'ObjectNotAppendable',
  },
  {
    name: 'user metadata over 8 KB',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        headers: { 'x-oss-meta-big': 'v'.repeat(9000) },
        body: 'replacement',
      }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'declared Content-Length over 5 GiB',
    send: () => {
      const { path, headers } = signRequest(server, { method: 'PUT', bucket: server.bucket, key: VICTIM });
      return new Promise<RawResponse>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port: server.port,
            method: 'PUT',
            path,
            headers: { ...headers, 'Content-Length': String(6 * 1024 ** 3) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              const body = Buffer.concat(chunks);
              req.destroy();
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString() });
            });
          },
        );
        req.on('error', reject);
        req.write('only a few bytes');
      });
    },
    status: 400,
    code: 'EntityTooLarge',
  },
  {
    name: 'malformed Authorization header',
    send: () =>
      rawRequest(server.port, {
        method: 'PUT',
        path: `/${server.bucket}/${VICTIM}`,
        headers: { authorization: 'OSS no-colon-here', 'x-oss-date': new Date().toUTCString() },
        body: 'replacement',
      }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'wrong signature',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        accessKeySecret: 'not-the-secret',
        body: 'replacement',
      }),
    status: 403,
    code: 'SignatureDoesNotMatch',
  },
  {
    name: 'unknown access key id',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        accessKeyId: 'nobody',
        body: 'x',
      }),
    status: 403,
    code: 'InvalidAccessKeyId',
  },
  {
    name: 'request time skewed by an hour',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        key: VICTIM,
        date: new Date(Date.now() + 60 * 60 * 1000),
        body: 'replacement',
      }),
    status: 403,
    code: 'RequestTimeTooSkewed',
  },
  {
    name: 'signed request without any date',
    send: () =>
      rawRequest(server.port, {
        method: 'GET',
        path: `/${server.bucket}/${VICTIM}`,
        headers: { authorization: `OSS ${server.accessKeyId}:c2lnbmF0dXJl` },
      }),
    status: 403,
    code: 'AccessDenied',
  },
  {
    name: 'anonymous write to a private bucket',
    send: () =>
      rawRequest(server.port, { method: 'PUT', path: `/${server.bucket}/${VICTIM}`, body: 'replacement' }),
    status: 403,
    code: 'AccessDenied',
  },
  {
    name: 'anonymous read of a private bucket',
    send: () => rawRequest(server.port, { method: 'GET', path: `/${server.bucket}/${VICTIM}` }),
    status: 403,
    code: 'AccessDenied',
  },
];

describe('bad input', () => {
  it.each(rows)('$name → $status $code', async (row) => {
    const res = await row.send();
    expect(res.status).toBe(row.status);
    expect(errorCode(res)).toBe(row.code);
    expect(res.headers['x-oss-request-id']).toMatch(/^[0-9A-F]{24}$/);
    expect(res.headers['content-type']).toBe('application/xml');
    expect(res.text).toContain(`<RequestId>${String(res.headers['x-oss-request-id'])}</RequestId>`);
    expect(res.text).toMatch(/<Message>[^<]+<\/Message>/);
    expect(res.text).toContain('<HostId>');
    await expectVictimIntact(server);
  });

  it('HEAD errors carry no body but the code in x-oss-err', async () => {
    const res = await signedRequest(server, { method: 'HEAD', bucket: server.bucket, key: 'missing' });
    expect(res.status).toBe(404);
    expect(res.body.length).toBe(0);
    expect(errorCode(res)).toBe('NoSuchKey');
  });

  it('names the missing key and bucket in the error document', async () => {
    const noKey = await signedRequest(server, { method: 'GET', bucket: server.bucket, key: 'a b/c' });
    expect(noKey.text).toContain('<Key>a b/c</Key>');
    const noBucket = await signedRequest(server, { method: 'GET', bucket: 'no-such-bucket', key: 'k' });
    expect(noBucket.text).toContain('<BucketName>no-such-bucket</BucketName>');
  });

  it('keeps serving after a client disconnects mid-upload, and stores nothing', async () => {
    for (const key of [VICTIM, 'never-finished']) {
      const { path, headers } = signRequest(server, { method: 'PUT', bucket: server.bucket, key });
      await new Promise<void>((resolve) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port: server.port,
          method: 'PUT',
          path,
          headers: { ...headers, 'Content-Length': String(1024 * 1024) },
        });
        req.on('response', () => resolve());
        req.on('error', () => resolve());
        req.write(Buffer.alloc(64 * 1024, 1), () => {
          // Give the server time to start streaming into the store, then vanish.
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 50);
        });
      });
    }
    await expectVictimIntact(server);
    const partial = await signedRequest(server, {
      method: 'GET',
      bucket: server.bucket,
      key: 'never-finished',
    });
    expect(partial.status).toBe(404);
  });

  it('answers an error before reading a large body without corrupting the next request', async () => {
    const res = await signedRequest(server, {
      method: 'PUT',
      bucket: server.bucket,
      key: VICTIM,
      headers: { 'Content-MD5': 'not-an-md5' },
      body: Buffer.alloc(2 * 1024 * 1024, 3),
    });
    expect(errorCode(res)).toBe('InvalidDigest');
    await expectVictimIntact(server);
  });
});
