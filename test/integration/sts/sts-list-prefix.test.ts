/**
 * Temporary credentials scoped to a key prefix can list inside that prefix and nothing else,
 * through ali-oss with `stsToken` (DESIGN.md "Temporary credentials"): ListObjects, ListObjectsV2
 * and ListMultipartUploads name no key, so the token's prefix is checked against the listing's
 * own `prefix` parameter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  mintTemporaryCredentials,
  type TemporaryAction,
  type TemporaryCredentials,
} from '../../../src/client/temporary-credentials.ts';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  const root = ossClient(server);
  for (const key of ['user-7/a.txt', 'user-7/sub/b.txt', 'user-8/c.txt', 'top.txt']) {
    await root.put(key, Buffer.from(key));
  }
  await root.initMultipartUpload('user-7/pending.bin');
});

afterAll(async () => {
  await server.close();
});

function tokenClient(actions: TemporaryAction[], prefix = 'user-7/'): AliOssClient {
  const credentials: TemporaryCredentials = mintTemporaryCredentials({
    rootAccessKeyId: server.accessKeyId,
    rootAccessKeySecret: server.accessKeySecret,
    policy: { bucket: server.bucket, prefix, actions, expiresInSeconds: 900 },
    now: new Date(),
  });
  return ossClient(server, {
    accessKeyId: credentials.AccessKeyId,
    accessKeySecret: credentials.AccessKeySecret,
    stsToken: credentials.SecurityToken,
  });
}

const names = (result: { objects?: { name: string }[] }): string[] =>
  (result.objects ?? []).map((o) => o.name);

const DENIED = {
  status: 403,
  code: 'AccessDenied',
  message: 'Access denied by the security token policy: only keys starting with "user-7/" are allowed.',
};

describe('a prefix-scoped token lists', () => {
  it('ListObjects and ListObjectsV2 inside its prefix (also a deeper one)', async () => {
    const client = tokenClient(['ListObjects']);
    expect(names(await client.list({ prefix: 'user-7/' }))).toEqual(['user-7/a.txt', 'user-7/sub/b.txt']);
    expect(names(await client.listV2({ prefix: 'user-7/sub/' }))).toEqual(['user-7/sub/b.txt']);
    const delimited = await client.listV2({ prefix: 'user-7/', delimiter: '/' });
    expect(names(delimited)).toEqual(['user-7/a.txt']);
    expect(delimited.prefixes).toEqual(['user-7/sub/']);
  });

  it('is refused outside its prefix, with no prefix, or with a prefix that only starts like it', async () => {
    const client = tokenClient(['ListObjects']);
    await expect(client.list({ prefix: 'user-8/' })).rejects.toMatchObject(DENIED);
    await expect(client.listV2({ prefix: 'user-8/' })).rejects.toMatchObject(DENIED);
    await expect(client.list({})).rejects.toMatchObject(DENIED);
    await expect(client.listV2({})).rejects.toMatchObject(DENIED);
    await expect(client.listV2({ prefix: 'user-' })).rejects.toMatchObject(DENIED);
  });

  it('ListMultipartUploads is scoped the same way', async () => {
    const client = tokenClient(['ListMultipartUploads']);
    const inside = (await client.listUploads({ prefix: 'user-7/' })) as { uploads: { name: string }[] };
    expect(inside.uploads.map((u) => u.name)).toEqual(['user-7/pending.bin']);
    await expect(client.listUploads({ prefix: 'user-8/' })).rejects.toMatchObject(DENIED);
  });

  it('still needs the ListObjects action, and a token without a prefix lists everything', async () => {
    await expect(tokenClient(['GetObject']).list({ prefix: 'user-7/' })).rejects.toMatchObject({
      status: 403,
      code: 'AccessDenied',
      message: 'Access denied by the security token policy: the action ListObjects is not allowed.',
    });
    const unscoped = tokenClient(['ListObjects'], '');
    expect(names(await unscoped.listV2({}))).toEqual([
      'top.txt',
      'user-7/a.txt',
      'user-7/sub/b.txt',
      'user-8/c.txt',
    ]);
  });
});
