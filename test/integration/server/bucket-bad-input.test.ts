/**
 * The bad-input table for bucket, listing and DeleteMultipleObjects requests over raw HTTP: every
 * row returns the right OSS error code and status with a well-formed error document; after every
 * row the server still serves and the objects stored before are unchanged.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, rawRequest, signedRequest, type RawResponse } from '../../helpers/raw-request.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';
import { expectVictimIntact, storeVictim, VICTIM } from '../../helpers/victim-object.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await storeVictim(server);
});
afterAll(async () => {
  await server.close();
});

const md5 = (data: string) => createHash('md5').update(data, 'utf8').digest('base64');

function deleteMulti(body: string, headers: Record<string, string> = { 'content-md5': md5(body) }) {
  return signedRequest(server, {
    method: 'POST',
    bucket: server.bucket,
    subresources: { delete: '' },
    headers: { 'content-type': 'application/xml', ...headers },
    body,
  });
}

const deleteDoc = (keys: string[], quiet = 'false') =>
  `<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>${quiet}</Quiet>${keys
    .map((k) => `<Object><Key>${k}</Key></Object>`)
    .join('')}</Delete>`;

const list = (query: Record<string, string>, bucket?: string) =>
  signedRequest(server, { method: 'GET', bucket: bucket ?? server.bucket, query });

interface Row {
  name: string;
  send: () => Promise<RawResponse>;
  status: number;
  code: string;
}

const rows: Row[] = [
  {
    name: 'PutBucket with an invalid name',
    send: () => signedRequest(server, { method: 'PUT', bucket: 'Bad_Name' }),
    status: 400,
    code: 'InvalidBucketName',
  },
  {
    name: 'PutBucket with a two-letter name',
    send: () => signedRequest(server, { method: 'PUT', bucket: 'ab' }),
    status: 400,
    code: 'InvalidBucketName',
  },
  {
    name: 'PutBucket with an unknown x-oss-acl',
    send: () =>
      signedRequest(server, { method: 'PUT', bucket: 'new-bucket', headers: { 'x-oss-acl': 'public' } }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'PutBucket with a malformed configuration body',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: 'new-bucket',
        headers: { 'content-type': 'application/xml' },
        body: '<CreateBucketConfiguration><StorageClass>',
      }),
    status: 400,
    code: 'MalformedXML',
  },
  {
    name: 'PutBucketAcl without x-oss-acl',
    send: () => signedRequest(server, { method: 'PUT', bucket: server.bucket, subresources: { acl: '' } }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'PutBucketAcl with an unknown ACL',
    send: () =>
      signedRequest(server, {
        method: 'PUT',
        bucket: server.bucket,
        subresources: { acl: '' },
        headers: { 'x-oss-acl': 'public-write' },
      }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'DeleteBucket on a bucket with objects',
    send: () => signedRequest(server, { method: 'DELETE', bucket: server.bucket }),
    status: 409,
    code: 'BucketNotEmpty',
  },
  {
    name: 'DeleteBucket on a missing bucket',
    send: () => signedRequest(server, { method: 'DELETE', bucket: 'no-such-bucket' }),
    status: 404,
    code: 'NoSuchBucket',
  },
  {
    name: 'GetBucketInfo on a missing bucket',
    send: () =>
      signedRequest(server, { method: 'GET', bucket: 'no-such-bucket', subresources: { bucketInfo: '' } }),
    status: 404,
    code: 'NoSuchBucket',
  },
  {
    name: 'GetBucketLocation on a missing bucket',
    send: () =>
      signedRequest(server, { method: 'GET', bucket: 'no-such-bucket', subresources: { location: '' } }),
    status: 404,
    code: 'NoSuchBucket',
  },
  {
    name: 'GetBucketAcl on a missing bucket',
    send: () => signedRequest(server, { method: 'GET', bucket: 'no-such-bucket', subresources: { acl: '' } }),
    status: 404,
    code: 'NoSuchBucket',
  },
  {
    name: 'ListObjects on a missing bucket',
    send: () => list({}, 'no-such-bucket'),
    status: 404,
    code: 'NoSuchBucket',
  },
  {
    name: 'ListObjects max-keys=0',
    send: () => list({ 'max-keys': '0' }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'ListObjects max-keys=1001',
    send: () => list({ 'max-keys': '1001' }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'ListObjects max-keys=-1',
    send: () => list({ 'max-keys': '-1' }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'ListObjects max-keys=abc',
    send: () => list({ 'max-keys': 'abc' }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'ListObjects encoding-type=gzip',
    send: () => list({ 'encoding-type': 'gzip' }),
    status: 400,
    code: 'InvalidEncodingType',
  },
  {
    name: 'ListObjectsV2 list-type=3',
    send: () => list({ 'list-type': '3' }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'ListObjectsV2 with a forged continuation token',
    send: () =>
      signedRequest(server, {
        method: 'GET',
        bucket: server.bucket,
        // ali-oss signs continuation-token as a sub-resource.
        subresources: { 'continuation-token': 'a+b/c=' },
        query: { 'list-type': '2' },
      }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'ListObjectsV2 max-keys=5000',
    send: () => list({ 'list-type': '2', 'max-keys': '5000' }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'ListBuckets max-keys=5000',
    send: () => signedRequest(server, { method: 'GET', query: { 'max-keys': '5000' } }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    name: 'ListBuckets anonymously',
    send: () => rawRequest(server.port, { method: 'GET', path: '/' }),
    status: 403,
    code: 'AccessDenied',
  },
  {
    name: 'DeleteMultipleObjects without Content-MD5',
    send: () => deleteMulti(deleteDoc([VICTIM]), {}),
    status: 400,
    code: 'InvalidDigest',
  },
  {
    name: 'DeleteMultipleObjects with a Content-MD5 that is not an MD5',
    send: () => deleteMulti(deleteDoc([VICTIM]), { 'content-md5': 'not-base64' }),
    status: 400,
    code: 'InvalidDigest',
  },
  {
    name: 'DeleteMultipleObjects whose body differs from Content-MD5',
    send: () => deleteMulti(deleteDoc([VICTIM]), { 'content-md5': md5(deleteDoc(['other'])) }),
    status: 400,
    code: 'BadDigest',
  },
  {
    name: 'DeleteMultipleObjects with garbage',
    send: () => deleteMulti('this is not xml'),
    status: 400,
    code: 'MalformedXML',
  },
  {
    name: 'DeleteMultipleObjects with no Object',
    send: () => deleteMulti('<Delete><Quiet>true</Quiet></Delete>'),
    status: 400,
    code: 'MalformedXML',
  },
  {
    name: 'DeleteMultipleObjects with the wrong root element',
    send: () => deleteMulti(`<Remove><Object><Key>${VICTIM}</Key></Object></Remove>`),
    status: 400,
    code: 'MalformedXML',
  },
  {
    name: 'DeleteMultipleObjects with Quiet=maybe',
    send: () => deleteMulti(deleteDoc([VICTIM], 'maybe')),
    status: 400,
    code: 'MalformedXML',
  },
  {
    name: 'DeleteMultipleObjects with an empty Key after a real one',
    send: () => deleteMulti(deleteDoc([VICTIM, ''])),
    status: 400,
    code: 'MalformedXML',
  },
  {
    name: 'DeleteMultipleObjects with an overlong key after a real one',
    send: () => deleteMulti(deleteDoc([VICTIM, 'k'.repeat(1024)])),
    status: 400,
    code: 'KeyTooLong',
  },
  {
    name: 'DeleteMultipleObjects with 1001 keys',
    send: () => deleteMulti(deleteDoc([VICTIM, ...Array.from({ length: 1000 }, (_, i) => `k${i}`)])),
    status: 400,
    code: 'MalformedXML',
  },
  {
    name: 'DeleteMultipleObjects with a DOCTYPE (entity expansion)',
    send: () =>
      deleteMulti(`<!DOCTYPE d [<!ENTITY x "${VICTIM}">]><Delete><Object><Key>&x;</Key></Object></Delete>`),
    status: 400,
    code: 'MalformedXML',
  },
  {
    name: 'DeleteMultipleObjects with a body over 2 MiB',
    send: () => {
      const body = deleteDoc([VICTIM]) + ' '.repeat(2 * 1024 * 1024);
      return deleteMulti(body);
    },
    status: 400,
    code: 'MalformedXML',
  },
  {
    name: 'DeleteMultipleObjects on a missing bucket',
    send: () =>
      signedRequest(server, {
        method: 'POST',
        bucket: 'no-such-bucket',
        subresources: { delete: '' },
        headers: { 'content-md5': md5(deleteDoc([VICTIM])) },
        body: deleteDoc([VICTIM]),
      }),
    status: 404,
    code: 'NoSuchBucket',
  },
];

describe('bucket and listing bad input', () => {
  it.each(rows)('$name → $status $code', async (row) => {
    const res = await row.send();
    expect(res.status).toBe(row.status);
    expect(errorCode(res)).toBe(row.code);
    expect(res.text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>/);
    expect(res.text).toContain(`<RequestId>${String(res.headers['x-oss-request-id'])}</RequestId>`);

    await expectVictimIntact(server);
    const bucket = await signedRequest(server, {
      method: 'GET',
      bucket: server.bucket,
      subresources: { acl: '' },
    });
    expect(bucket.text).toContain('<Grant>private</Grant>');
    const buckets = await signedRequest(server, { method: 'GET' });
    expect(buckets.text).not.toContain('new-bucket');
  });
});
