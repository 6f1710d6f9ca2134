/**
 * `--callback-key-file PEM` (env UPCALL_CALLBACK_KEY_FILE): several `upcall server` processes sign
 * callbacks with one key read from a file, so an app server verifies a callback from any of them
 * with the public key fetched from any other; a file that is missing or holds no RSA private key
 * stops the start with a message naming it.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverCommand } from '../../src/cli/commands/server.ts';
import { devCommand } from '../../src/cli/commands/dev.ts';
import { createPublicKeyResolver, verifyOssCallback } from 'upcall-verify';
import { ossClient } from '../helpers/ali-oss-client.ts';
import { runCli } from '../helpers/run-cli.ts';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';
import { startCallbackSink } from '../helpers/start-callback-sink.ts';
import type { TestServer } from '../helpers/start-test-server.ts';

const ENV = { UPCALL_ACCESS_KEY_ID: 'key-file-id', UPCALL_ACCESS_KEY_SECRET: 'key-file-secret' };
const BUCKET = 'shared-key';
// Each test spawns node + tsx; on a loaded machine that start alone can take seconds.
const SPAWN_TIMEOUT_MS = 120_000;

let root: string;
let keyFile: string;
let privatePem: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'upcall-key-file-'));
  keyFile = join(root, 'callback-key.pem');
  // 1024 bits: the size does not matter here, and it is quick to make.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await writeFile(keyFile, privatePem, { mode: 0o600 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function startServer(args: string[], env: Record<string, string> = {}): Promise<SpawnedCli> {
  return spawnCli(['server', '--port', '0', '--memory', '--bucket', BUCKET, ...args], {
    env: { ...ENV, ...env },
    ready: /^endpoint: (http:\/\/\S+)$/m,
  });
}

async function stop(cli: SpawnedCli): Promise<void> {
  cli.child.kill('SIGTERM');
  await cli.exited;
}

async function publicKeyOf(cli: SpawnedCli): Promise<string> {
  const response = await fetch(`${cli.ready}/callback_pub_key_v1.pem`);
  expect(response.status).toBe(200);
  return response.text();
}

describe('upcall server --callback-key-file', { timeout: SPAWN_TIMEOUT_MS }, () => {
  it('two servers with one key file serve the same public key, and verify each other’s callbacks', async () => {
    // One through the flag, one through the environment variable.
    const a = await startServer(['--callback-key-file', keyFile]);
    const b = await startServer([], { UPCALL_CALLBACK_KEY_FILE: keyFile }).catch(async (error: unknown) => {
      await stop(a);
      throw error;
    });
    const sink = await startCallbackSink();
    try {
      expect(a.stdout()).toContain(`callback key: ${keyFile}`);
      const [pemA, pemB] = [await publicKeyOf(a), await publicKeyOf(b)];
      expect(pemA).toBe(pemB);
      expect(pemB).toBe(createPublicKey(privatePem).export({ type: 'spki', format: 'pem' }).toString());

      // A callback signed by server A, checked with the key fetched from server B only.
      const client = ossClient({
        port: Number(new URL(a.ready).port),
        region: 'oss-cn-hangzhou',
        bucket: BUCKET,
        accessKeyId: ENV.UPCALL_ACCESS_KEY_ID,
        accessKeySecret: ENV.UPCALL_ACCESS_KEY_SECRET,
      } as TestServer);
      const callback = Buffer.from(
        JSON.stringify({ callbackUrl: `${sink.url}/hook`, callbackBody: 'object=${object}&size=${size}' }),
      ).toString('base64');
      await client.put('signed.txt', Buffer.from('shared key'), { headers: { 'x-oss-callback': callback } });
      expect(sink.received).toHaveLength(1);
      const received = sink.received[0]!;
      const request = {
        method: 'POST',
        target: received.target,
        headers: received.headers,
        body: received.body,
      };
      const verified = await verifyOssCallback(request, {
        resolver: createPublicKeyResolver({ publicKey: pemB }),
      });
      expect(verified.object).toBe('signed.txt');
      // The same check with any other key fails: the test can tell the keys apart.
      const other = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
      await expect(
        verifyOssCallback(request, { resolver: createPublicKeyResolver({ publicKey: other }) }),
      ).rejects.toMatchObject({ reason: 'signature-mismatch' });
    } finally {
      await sink.close();
      await stop(a);
      await stop(b);
    }
  });

  it('refuses to start when the file is missing, not a PEM private key, or not RSA', async () => {
    const publicOnly = join(root, 'public.pem');
    await writeFile(publicOnly, createPublicKey(privatePem).export({ type: 'spki', format: 'pem' }));
    const ec = join(root, 'ec.pem');
    await writeFile(
      ec,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    const missing = join(root, 'missing.pem');
    const cases: [string, RegExp][] = [
      [missing, /callback key file .*missing\.pem cannot be read: ENOENT/],
      [publicOnly, /callback key file .*public\.pem is not a PEM private key/],
      [ec, /callback key file .*ec\.pem is not an RSA key \(ec\)/],
    ];
    for (const [file, message] of cases) {
      const server = await runCli(
        serverCommand,
        ['server', '--port', '0', '--memory', '--callback-key-file', file],
        {
          cwd: root,
          env: ENV,
        },
      );
      expect(server.exitCode, file).not.toBe(0);
      expect(server.stderr).toMatch(message);
      expect(server.stdout).not.toContain('listening');
      const dev = await runCli(
        devCommand,
        ['dev', '--data', join(root, 'dev'), '--port', '0', '--receiver-port', '0'],
        {
          cwd: root,
          env: { ...ENV, UPCALL_CALLBACK_KEY_FILE: file },
        },
      );
      expect(dev.exitCode, file).not.toBe(0);
      expect(dev.stderr).toMatch(message);
    }
  });
});

describe('upcall dev --callback-key-file', { timeout: SPAWN_TIMEOUT_MS }, () => {
  it('serves the public half of the key in the file', async () => {
    const dev = await spawnCli(
      [
        'dev',
        '--data',
        join(root, 'dev-ok'),
        '--port',
        '0',
        '--receiver-port',
        '0',
        '--callback-key-file',
        keyFile,
      ],
      { env: ENV, ready: /Storage endpoint +(http:\/\/\S+)/ },
    );
    try {
      const response = await fetch(`${dev.ready}/callback_pub_key_v1.pem`);
      expect(await response.text()).toBe(
        createPublicKey(privatePem).export({ type: 'spki', format: 'pem' }).toString(),
      );
    } finally {
      dev.child.kill('SIGTERM');
      await dev.exited;
    }
  });
});
