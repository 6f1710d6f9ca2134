/**
 * `upcall receiver` as users run it: the real CLI spawned on port 0, its printed callback and
 * dashboard URLs parsed; real OSS-signed callbacks (SPEC.md §11 vector C, key served by a local
 * key server) and a real upload callback from an upcall server are verified, recorded and read
 * back through the REST API; the default allowlist refuses other key hosts; SIGINT / SIGTERM stop
 * it gracefully and the records survive a restart on the same --data dir.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient } from '../helpers/ali-oss-client.ts';
import { sendRaw } from '../helpers/receiver-callback-signer.ts';
import { startKeyServer, type KeyServer } from '../helpers/receiver-key-server.ts';
import { OSS_PUBLIC_KEY_PEM, REAL_VECTORS, vectorHeaders } from '../helpers/receiver-vectors.ts';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';
import { startTestServer } from '../helpers/start-test-server.ts';

const VECTOR_C = REAL_VECTORS.find((v) => v.name === 'C')!;

interface UploadJson {
  id: number;
  verified: boolean;
  rejectReason?: string;
  bucket?: string;
  object?: string;
  size?: number;
  target: string;
  body: string;
}

function startReceiver(args: string[], env: Record<string, string> = {}): Promise<SpawnedCli> {
  return spawnCli(['receiver', '--port', '0', ...args], { env, ready: /^dashboard: (http:\/\/\S+)$/m });
}

function callbackUrlOf(cli: SpawnedCli): string {
  return /^callback URL: (http:\/\/\S+)$/m.exec(cli.stdout())![1]!;
}

async function uploads(cli: SpawnedCli): Promise<UploadJson[]> {
  const response = await fetch(new URL('/api/uploads', cli.ready));
  expect(response.status).toBe(200);
  return ((await response.json()) as { uploads: UploadJson[] }).uploads;
}

let root: string;
let keys: KeyServer;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'upcall-cli-receiver-'));
  keys = await startKeyServer({ kind: 'pem', pem: OSS_PUBLIC_KEY_PEM });
});
afterAll(async () => {
  await keys.close();
  await rm(root, { recursive: true, force: true });
});

describe('upcall receiver', { timeout: 120_000 }, () => {
  it('verifies and records a real OSS-signed callback; the default allowlist refuses other key hosts', async () => {
    const data = join(root, 'vectors');
    const first = await startReceiver([
      '--data',
      data,
      '--allow-key-url',
      `${keys.origin}/`,
      '--callback-path',
      '/api/AliYunOssCallback',
    ]);
    try {
      const origin = new URL(first.ready).origin;
      expect(callbackUrlOf(first)).toBe(`${origin}/api/AliYunOssCallback`);
      expect(first.stdout()).toContain(`trusted key URLs: ${keys.origin}/callback_pub_key_v1.pem`);
      const dashboard = await fetch(first.ready);
      expect(dashboard.status).toBe(200);
      expect(dashboard.headers.get('content-type')).toContain('text/html');

      const res = await sendRaw(origin, {
        target: VECTOR_C.target,
        headers: vectorHeaders(VECTOR_C, keys.keyUrl),
        body: VECTOR_C.body,
      });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ Status: 'OK' });
      const [record] = await uploads(first);
      expect(record).toMatchObject({ verified: true, target: VECTOR_C.target, body: VECTOR_C.body });
    } finally {
      first.child.kill('SIGINT');
    }
    expect(await first.exited).toBe(0);
    expect(first.stderr()).toContain('stopped');

    // Same data dir, default allowlist (gosspublic.alicdn.com only): the local key host is refused.
    const second = await startReceiver(['--data', data, '--callback-path', '/api/AliYunOssCallback']);
    try {
      expect(second.stdout()).toContain(
        'trusted key URLs: http://gosspublic.alicdn.com/callback_pub_key_v1.pem, https://gosspublic.alicdn.com/callback_pub_key_v1.pem',
      );
      const hitsBefore = keys.hits();
      const res = await sendRaw(new URL(second.ready).origin, {
        target: VECTOR_C.target,
        headers: vectorHeaders(VECTOR_C, keys.keyUrl),
        body: VECTOR_C.body,
      });
      expect(res.status).toBe(400);
      expect(keys.hits()).toBe(hitsBefore);
      const records = await uploads(second);
      expect(records.map((r) => [r.verified, r.rejectReason])).toEqual([
        [false, 'key-host-not-allowed'],
        [true, undefined],
      ]);
    } finally {
      second.child.kill('SIGTERM');
    }
    expect(await second.exited).toBe(0);
  });

  it('receives an upcall server upload callback with the server key URL allowed (from the environment)', async () => {
    const server = await startTestServer({ callback: { keyBits: 1024 } });
    const cli = await startReceiver(['--data', join(root, 'live')], {
      UPCALL_ALLOW_KEY_URLS: `${server.url}/`,
    });
    try {
      const result = await ossClient(server).put('photos/cat.txt', Buffer.from('meow'), {
        callback: { url: callbackUrlOf(cli), body: 'bucket=${bucket}&object=${object}&size=${size}' },
      });
      expect(result.res.status).toBe(200);
      expect(result.data).toMatchObject({ Status: 'OK', object: 'photos/cat.txt' });
      const [record] = await uploads(cli);
      expect(record).toMatchObject({
        verified: true,
        bucket: server.bucket,
        object: 'photos/cat.txt',
        size: 4,
      });
    } finally {
      cli.child.kill('SIGTERM');
      await server.close();
    }
    expect(await cli.exited).toBe(0);
  });

  it('pins a key with --public-key, and refuses a bad allowlist entry before starting', async () => {
    const pem = join(root, 'oss.pem');
    await writeFile(pem, OSS_PUBLIC_KEY_PEM);
    const cli = await startReceiver([
      '--data',
      join(root, 'pinned'),
      '--public-key',
      pem,
      '--callback-path',
      '/api/AliYunOssCallback',
    ]);
    try {
      expect(cli.stdout()).toContain(`pinned public key: ${pem}`);
      const hitsBefore = keys.hits();
      const res = await sendRaw(new URL(cli.ready).origin, {
        target: VECTOR_C.target,
        headers: vectorHeaders(VECTOR_C, 'http://keys.example.invalid/callback_pub_key_v1.pem'),
        body: VECTOR_C.body,
      });
      // Verified with the pinned key; the key URL in the request is never fetched.
      expect(res.status).toBe(200);
      expect(keys.hits()).toBe(hitsBefore);
      const [record] = await uploads(cli);
      expect(record).toMatchObject({ verified: true, target: VECTOR_C.target });
    } finally {
      cli.child.kill('SIGTERM');
    }
    expect(await cli.exited).toBe(0);
    await expect(
      startReceiver(['--data', join(root, 'bad'), '--allow-key-url', 'ftp://keys/']),
    ).rejects.toThrow(/exited with 1: .*must be http\(s\)/);
    // Issue 14: a prefix of a storage server would trust any PEM a user uploads there.
    await expect(
      startReceiver(['--data', join(root, 'bad'), '--allow-key-url', 'http://127.0.0.1:9000/pub/']),
    ).rejects.toThrow(/exited with 1: .*is a prefix/);
  });

  // Issue 19: the standalone receiver issues credentials and policies when configured.
  it('issues /sts and post policies bound to --public-url when given a storage endpoint, bucket and root key', async () => {
    const key = {
      UPCALL_ACCESS_KEY_ID: 'LTAIcliReceiverKey',
      UPCALL_ACCESS_KEY_SECRET: 'cli-receiver-secret',
    };
    await expect(
      startReceiver(['--data', join(root, 'cred'), '--storage-endpoint', 'http://127.0.0.1:9000'], key),
    ).rejects.toThrow(/exited with 1: .*--bucket NAME/);
    await expect(
      startReceiver([
        '--data',
        join(root, 'cred'),
        '--storage-endpoint',
        'http://127.0.0.1:9000',
        '--bucket',
        'b',
      ]),
    ).rejects.toThrow(/exited with 1: .*UPCALL_ACCESS_KEY_ID and UPCALL_ACCESS_KEY_SECRET/);
    const cli = await startReceiver(['--data', join(root, 'cred')], {
      ...key,
      UPCALL_STORAGE_ENDPOINT: 'http://127.0.0.1:9000',
      UPCALL_BUCKET: 'photos',
      UPCALL_RECEIVER_PUBLIC_URL: 'http://app.example:8080',
    });
    try {
      const origin = new URL(cli.ready).origin;
      expect(callbackUrlOf(cli)).toBe('http://app.example:8080/callback');
      const sts = (await (await fetch(`${origin}/sts?user=alice`)).json()) as Record<string, string>;
      expect(sts).toMatchObject({ StatusCode: 200 });
      expect(JSON.parse(Buffer.from(sts['Callback']!, 'base64').toString())).toMatchObject({
        callbackUrl: 'http://app.example:8080/callback',
      });
      const policy = (await (await fetch(`${origin}/api/post-policy?user=alice`)).json()) as Record<
        string,
        string
      >;
      expect(policy).toMatchObject({
        accessid: 'LTAIcliReceiverKey',
        host: 'http://127.0.0.1:9000/photos',
        dir: 'uploads/alice/',
      });
      expect(JSON.stringify(policy)).not.toContain('cli-receiver-secret');
      // Thumbnails: a presigned GET on the storage endpoint.
      const object = await fetch(`${origin}/dashboard/object?bucket=photos&key=a.png`, {
        redirect: 'manual',
      });
      expect(object.status).toBe(302);
      expect(object.headers.get('location')).toMatch(
        /^http:\/\/127\.0\.0\.1:9000\/photos\/a\.png\?.*Signature=/,
      );
    } finally {
      cli.child.kill('SIGTERM');
    }
    expect(await cli.exited).toBe(0);
  });
});
