/**
 * Temporary credentials carried in a presigned URL (`security-token` query parameter, SPEC.md §8)
 * against a real server: ali-oss `signatureUrl` (V1) and `signatureUrlV4` made with `stsToken`
 * work inside the token's policy, and the server refuses them outside it, expired or tampered,
 * storing nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  mintTemporaryCredentials,
  type TemporaryAction,
  type TemporaryCredentials,
} from '../../../src/client/temporary-credentials.ts';
import { ossClient, pathStyleClient } from '../../helpers/ali-oss-client.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  const root = ossClient(server);
  await root.put('user-9/hello.txt', Buffer.from('hello'));
  await root.put('elsewhere.txt', Buffer.from('no'));
});

afterAll(async () => {
  await server.close();
});

function mint(
  overrides: { actions?: TemporaryAction[]; now?: Date; callbackUrl?: string } = {},
): TemporaryCredentials {
  return mintTemporaryCredentials({
    rootAccessKeyId: server.accessKeyId,
    rootAccessKeySecret: server.accessKeySecret,
    policy: {
      bucket: server.bucket,
      prefix: 'user-9/',
      actions: overrides.actions ?? ['GetObject', 'PutObject'],
      ...(overrides.callbackUrl !== undefined && { callbackUrl: overrides.callbackUrl }),
      expiresInSeconds: 900,
    },
    now: overrides.now ?? new Date(),
  });
}

function sts(credentials: TemporaryCredentials): ReturnType<typeof pathStyleClient> {
  return pathStyleClient(server, {
    accessKeyId: credentials.AccessKeyId,
    accessKeySecret: credentials.AccessKeySecret,
    stsToken: credentials.SecurityToken,
  });
}

async function fetchCode(url: string, init: RequestInit = {}): Promise<{ status: number; code?: string }> {
  const res = await fetch(url, init);
  const text = await res.text();
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  return code === undefined ? { status: res.status } : { status: res.status, code };
}

async function exists(key: string): Promise<boolean> {
  return server.store.headObject(server.bucket, key).then(
    () => true,
    () => false,
  );
}

describe('presigned URLs with temporary credentials (security-token)', () => {
  it('V1 signatureUrl: GET and PUT inside the prefix succeed, and the token travels in the URL', async () => {
    const client = sts(mint());
    const get = client.signatureUrl('user-9/hello.txt', { expires: 600 });
    expect(new URL(get).searchParams.get('security-token')).toBe(client.options['stsToken']);
    const res = await fetch(get);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello');
    const put = client.signatureUrl('user-9/put.txt', { method: 'PUT', expires: 600 });
    expect(await fetchCode(put, { method: 'PUT', body: Buffer.from('put by url') })).toEqual({ status: 200 });
    expect(await exists('user-9/put.txt')).toBe(true);
  });

  it('V4 signatureUrlV4: GET inside the prefix succeeds', async () => {
    const url = await sts(mint()).signatureUrlV4('GET', 600, undefined, 'user-9/hello.txt');
    expect(await fetchCode(url)).toEqual({ status: 200 });
  });

  it('refuses outside the policy, expired or tampered tokens, and stores nothing', async () => {
    const outside = sts(mint()).signatureUrl('elsewhere.txt', { expires: 600 });
    expect(await fetchCode(outside)).toEqual({ status: 403, code: 'AccessDenied' });

    const readOnly = sts(mint({ actions: ['GetObject'] })).signatureUrl('user-9/ro.txt', {
      method: 'PUT',
      expires: 600,
    });
    expect(await fetchCode(readOnly, { method: 'PUT', body: Buffer.from('x') })).toEqual({
      status: 403,
      code: 'AccessDenied',
    });

    const expired = sts(mint({ now: new Date(Date.now() - 3600_000) })).signatureUrl('user-9/hello.txt', {
      expires: 600,
    });
    expect(await fetchCode(expired)).toEqual({ status: 403, code: 'SecurityTokenExpired' });

    const good = new URL(sts(mint()).signatureUrl('user-9/hello.txt', { expires: 600 }));
    const token = good.searchParams.get('security-token') ?? '';
    good.searchParams.set('security-token', `x${token.slice(1)}`);
    expect((await fetchCode(good.href)).status).toBe(403);

    const v4Outside = await sts(mint()).signatureUrlV4('PUT', 600, undefined, 'elsewhere-v4.txt');
    expect(await fetchCode(v4Outside, { method: 'PUT', body: Buffer.from('x') })).toEqual({
      status: 403,
      code: 'AccessDenied',
    });

    const needsCallback = sts(mint({ callbackUrl: 'http://app.internal/cb' })).signatureUrl(
      'user-9/no-callback.txt',
      { method: 'PUT', expires: 600 },
    );
    expect(await fetchCode(needsCallback, { method: 'PUT', body: Buffer.from('x') })).toEqual({
      status: 403,
      code: 'AccessDenied',
    });

    for (const key of ['user-9/ro.txt', 'elsewhere-v4.txt', 'user-9/no-callback.txt']) {
      expect(await exists(key)).toBe(false);
    }
    const still = await fetch(sts(mint()).signatureUrl('user-9/hello.txt', { expires: 600 }));
    expect(await still.text()).toBe('hello');
  });
});
