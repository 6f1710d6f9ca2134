/**
 * `upcall server` flags and their `UPCALL_…` variables, observed over HTTP on the spawned CLI:
 * callback key size (from the served PEM), the callback key URL (sent in x-oss-pub-key-url and
 * served on the key URL's own host), the private-callback refusal (OSS's message), path-style
 * host names, and the region. A flag wins over its variable; a bad variable stops the start.
 */
import { createPublicKey } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicKeyResolver, verifyOssCallback } from 'upcall-verify';
import { ossClient } from '../helpers/ali-oss-client.ts';
import { rawRequest, signRequest } from '../helpers/raw-request.ts';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';
import { startCallbackSink, type CallbackSink } from '../helpers/start-callback-sink.ts';
import type { TestServer } from '../helpers/start-test-server.ts';

const KEY_ID = 'flags-key-id';
const KEY_SECRET = 'flags-key-secret';
const CREDENTIALS = { UPCALL_ACCESS_KEY_ID: KEY_ID, UPCALL_ACCESS_KEY_SECRET: KEY_SECRET };
const CANONICAL = 'http://gosspublic.alicdn.com/callback_pub_key_v1.pem';
const BUCKET = 'flags-bucket';
const PEM_PATH = '/callback_pub_key_v1.pem';

function startServer(args: string[], env: Record<string, string> = {}): Promise<SpawnedCli> {
  // Each start gets a fresh store (and callback key) unless the test names a data dir.
  const store = args.includes('--data') ? [] : ['--memory'];
  return spawnCli(['server', '--port', '0', '--bucket', BUCKET, ...store, ...args], {
    env: { ...CREDENTIALS, ...env },
    ready: /^endpoint: (http:\/\/\S+)$/m,
  });
}

/** What the ali-oss and raw-request helpers need to reach a spawned server. */
function target(cli: SpawnedCli): TestServer {
  return {
    port: Number(new URL(cli.ready).port),
    region: 'oss-cn-hangzhou',
    bucket: BUCKET,
    accessKeyId: KEY_ID,
    accessKeySecret: KEY_SECRET,
  } as TestServer;
}

async function stop(cli: SpawnedCli): Promise<void> {
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);
}

async function servedKeyBits(url: string, host?: string): Promise<number | undefined> {
  const port = Number(new URL(url).port);
  const res = await rawRequest(port, {
    method: 'GET',
    path: '/callback_pub_key_v1.pem',
    ...(host === undefined ? {} : { headers: { host } }),
  });
  expect(res.status).toBe(200);
  return createPublicKey(res.text).asymmetricKeyDetails?.modulusLength;
}

/**
 * A PUT that sends half its body and then nothing: the error code of the answer, and whether it
 * came within a few seconds (the tests set a 0.5 s body timeout; the default is 30 s).
 */
async function stalledBodyAnswer(cli: SpawnedCli): Promise<{ code: string | undefined; withinMs: boolean }> {
  const signed = signRequest(target(cli), {
    method: 'PUT',
    bucket: BUCKET,
    key: 'stalled.txt',
    headers: { 'content-length': '10' },
  });
  const socket = connect(Number(new URL(cli.ready).port), '127.0.0.1');
  const started = Date.now();
  const head = [`PUT ${signed.path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [name, value] of Object.entries(signed.headers)) head.push(`${name}: ${value}`);
  socket.write(`${head.join('\r\n')}\r\n\r\nhalf!`);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('close', resolve));
  const text = Buffer.concat(chunks).toString();
  return { code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1], withinMs: Date.now() - started < 5000 };
}

let sink: CallbackSink;
beforeAll(async () => {
  sink = await startCallbackSink();
});
afterAll(async () => {
  await sink.close();
});

describe('upcall server flags', { timeout: 120_000 }, () => {
  it('flags: 1024-bit key, private callbacks refused, path-style host, region (flag beats env)', async () => {
    const cli = await startServer(
      [
        '--callback-key-bits',
        '1024',
        '--forbid-private-callbacks',
        '--path-style-host',
        'Files.Example.Test',
        '--path-style-host',
        'other.example.test',
        '--region',
        'oss-cn-shanghai',
        '--body-timeout',
        '0.5',
      ],
      { UPCALL_REGION: 'oss-cn-beijing', UPCALL_CALLBACK_KEY_BITS: '2048' },
    );
    try {
      expect(await servedKeyBits(cli.ready)).toBe(1024);
      expect(await stalledBodyAnswer(cli)).toMatchObject({ code: 'RequestTimeout', withinMs: true });
      expect(cli.stdout()).toContain('region: oss-cn-shanghai');
      expect(cli.stdout()).toContain('path-style hosts: files.example.test, other.example.test');
      const server = target(cli);
      const client = ossClient(server);
      expect((await client.getBucketLocation(BUCKET)).location).toBe('oss-cn-shanghai');

      const refused = await client
        .put('private.txt', Buffer.from('x'), { callback: { url: `${sink.url}/cb`, body: 'k=${object}' } })
        .catch((error: unknown) => error as { status: number; code: string; message: string });
      expect(refused).toMatchObject({ status: 400, code: 'InvalidArgument' });
      expect((refused as { message: string }).message).toContain('Private address is forbidden to callback.');
      // Documentation, benchmarking and reserved nets, and this host's own (non-loopback) address.
      const own = Object.values(networkInterfaces())
        .flat()
        .find((entry) => entry !== undefined && !entry.internal && entry.family === 'IPv4');
      const hosts = ['192.0.2.1', '198.18.0.1', '240.0.0.1', ...(own === undefined ? [] : [own.address])];
      for (const host of hosts) {
        const error = await client
          .put('private.txt', Buffer.from('x'), {
            callback: { url: `http://${host}:9/cb`, body: 'k=${object}' },
          })
          .catch((caught: unknown) => caught as { status: number; code: string; message: string });
        expect(error, host).toMatchObject({ status: 400, code: 'InvalidArgument' });
        expect((error as { message: string }).message, host).toContain(
          'Private address is forbidden to callback.',
        );
      }
      await expect(client.head('private.txt')).rejects.toMatchObject({ status: 404 });
      expect(sink.received).toHaveLength(0);

      // `files.example.test` would otherwise name the bucket `files` (virtual-host style).
      await client.put('a.txt', Buffer.from('path style'));
      const signed = signRequest(server, { method: 'GET', bucket: BUCKET, key: 'a.txt' });
      const res = await rawRequest(server.port, {
        method: 'GET',
        path: signed.path,
        headers: { ...signed.headers, host: `files.example.test:${server.port}` },
      });
      expect(res.status).toBe(200);
      expect(res.text).toBe('path style');
    } finally {
      await stop(cli);
    }
  });

  it('variables: key bits, the canonical key URL (sent and served on its host), path-style hosts', async () => {
    const cli = await startServer([], {
      UPCALL_CALLBACK_KEY_BITS: '1024',
      UPCALL_CALLBACK_KEY_URL: CANONICAL,
      UPCALL_PATH_STYLE_HOSTS: 'files.example.test, more.example.test',
      UPCALL_BODY_TIMEOUT: '0.5',
    });
    try {
      expect(await stalledBodyAnswer(cli)).toMatchObject({ code: 'RequestTimeout', withinMs: true });
      expect(cli.stdout()).toContain(`callback key URL: ${CANONICAL}`);
      // Path style would read `/callback_pub_key_v1.pem` as a bucket name; the key URL's own host
      // (gosspublic.alicdn.com pointed at this server) must get the PEM, not bucket `gosspublic`.
      expect(await servedKeyBits(cli.ready, 'gosspublic.alicdn.com')).toBe(1024);

      const server = target(cli);
      const client = ossClient(server);
      const before = sink.received.length;
      // Private callbacks are allowed by default.
      const result = await client.put('cb.txt', Buffer.from('x'), {
        callback: { url: `${sink.url}/cb`, body: 'k=${object}' },
      });
      expect(result.res.status).toBe(200);
      const callback = sink.received[before];
      expect(callback?.keyUrl).toBe(CANONICAL);

      const signed = signRequest(server, { method: 'GET', bucket: BUCKET, key: 'cb.txt' });
      const res = await rawRequest(server.port, {
        method: 'GET',
        path: signed.path,
        headers: { ...signed.headers, host: 'more.example.test' },
      });
      expect(res.status).toBe(200);
    } finally {
      await stop(cli);
    }
  });

  it('unsigned callbacks (flag or variable): no Authorization, no key URL, the reply still relayed', async () => {
    for (const [args, env] of [
      [['--unsigned-callbacks'], {}],
      [[], { UPCALL_UNSIGNED_CALLBACKS: '1' }],
    ] as const) {
      const cli = await startServer([...args], env);
      try {
        expect(cli.stdout()).toContain('callbacks: UNSIGNED');
        const client = ossClient(target(cli));
        const before = sink.received.length;
        const result = await client.put('unsigned.txt', Buffer.from('x'), {
          callback: { url: `${sink.url}/cb`, body: 'k=${object}&s=${size}' },
        });
        expect(result.res.status).toBe(200);
        expect(result.data).toMatchObject({ Status: 'OK', verified: false, body: 'k=unsigned.txt&s=1' });
        const callback = sink.received[before];
        expect(callback?.headers['authorization']).toBeUndefined();
        expect(callback?.headers['x-oss-pub-key-url']).toBeUndefined();
        expect(callback?.headers['x-oss-bucket']).toBe(BUCKET);
        // The app-server kit refuses it like any callback without a signature.
        const pem = (await rawRequest(Number(new URL(cli.ready).port), { method: 'GET', path: PEM_PATH }))
          .text;
        const verdict = await verifyOssCallback(
          { method: 'POST', target: callback!.target, headers: callback!.headers, body: callback!.body },
          { resolver: createPublicKeyResolver({ publicKey: pem }) },
        ).catch((error: unknown) => error);
        expect(verdict).toMatchObject({ reason: 'missing-signature' });
      } finally {
        await stop(cli);
      }
    }
  });

  it('--unsafe-no-fsync / UPCALL_UNSAFE_NO_FSYNC=1 is announced, and the data dir still works', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'upcall-no-fsync-'));
    try {
      for (const [args, env] of [
        [['--unsafe-no-fsync'], {}],
        [[], { UPCALL_UNSAFE_NO_FSYNC: '1' }],
      ] as const) {
        const cli = await startServer(['--data', dataDir, ...args], env);
        try {
          expect(cli.stdout()).toContain('fsync: OFF');
          const client = ossClient(target(cli));
          await client.put('fast.txt', Buffer.from('kept without fsync'));
          expect(String((await client.get('fast.txt')).content)).toBe('kept without fsync');
        } finally {
          await stop(cli);
        }
      }
      const safe = await startServer(['--data', dataDir]);
      try {
        expect(safe.stdout()).not.toContain('fsync: OFF');
      } finally {
        await stop(safe);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('defaults to a 2048-bit key served at its own URL', async () => {
    const cli = await startServer([]);
    try {
      expect(await servedKeyBits(cli.ready)).toBe(2048);
      expect(cli.stdout()).toContain(`callback key URL: ${cli.ready}/callback_pub_key_v1.pem`);
      expect(cli.stdout()).not.toContain('private callback addresses');
    } finally {
      await stop(cli);
    }
  });

  it('refuses a bad variable or flag value before starting, naming it', async () => {
    await expect(startServer([], { UPCALL_CALLBACK_KEY_BITS: '512' })).rejects.toThrow(
      /exited with 1: error: UPCALL_CALLBACK_KEY_BITS=512: expected 1024, 2048 or 4096/,
    );
    await expect(startServer(['--callback-key-url', 'ftp://x/key.pem'])).rejects.toThrow(
      /exited with 1: .*--callback-key-url.*http\(s\) URL/,
    );
    await expect(startServer(['--path-style-host', 'host:9000'])).rejects.toThrow(/exited with 1/);
    await expect(startServer([], { UPCALL_BODY_TIMEOUT: '0' })).rejects.toThrow(
      /exited with 1: error: UPCALL_BODY_TIMEOUT=0: expected seconds/,
    );
  });
});
