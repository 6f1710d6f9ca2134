// Both halves together: the storage server's callbacks, verified by our own receiver kit (the
// node:http adapter with a resolver that allowlists the server's key URL and fetches the PEM).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeHandler, createPublicKeyResolver, type KeyFetch } from 'upcall-verify';
import { CANONICAL_CALLBACK_KEY_URL } from '../../../src/server/callback/callback-key.ts';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { startTestServer, type TestServer } from '../../helpers/start-test-server.ts';

let server: TestServer;
let client: AliOssClient;
let receiver: Server;
let receiverUrl: string;
const rejected: string[] = [];

beforeAll(async () => {
  server = await startTestServer({ callback: { keyBits: 1024 } });
  client = ossClient(server);
  const resolver = createPublicKeyResolver({ keyUrlAllowlist: [`${server.url}/`] });
  receiver = createServer(
    createNodeHandler({
      resolver,
      onVerified: (callback) => ({
        Status: 'OK',
        object: callback.object ?? null,
        bytes: callback.rawBody.length,
      }),
      onRejected: (error) => rejected.push(error.message),
    }),
  );
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await server.close();
});

describe('server → receiver', () => {
  it('the receiver verifies form and JSON callbacks with unicode keys, paths and values', async () => {
    const form = await client.put('目录/文件 1.txt', Buffer.from('form'), {
      callback: {
        url: `${receiverUrl}/回调/form?tag=a+b&x=%E2%9C%93`,
        body: 'object=${object}&size=${size}&v=${x:v}',
        customValue: { v: 'värde ✓' },
      },
    });
    expect(form.data).toMatchObject({ Status: 'OK', object: '目录/文件 1.txt' });

    const json = await client.put('目录/文件 2.json', Buffer.from('{}'), {
      callback: {
        url: `${receiverUrl}/json`,
        body: '{"object":${object},"size":${size},"v":${x:v}}',
        contentType: 'application/json',
        customValue: { v: '"quoted" \\ and ✓' },
      },
    });
    expect(json.data).toMatchObject({ Status: 'OK', object: '目录/文件 2.json' });
    expect(rejected).toEqual([]);
  });

  it('a receiver that does not trust the key URL refuses, and the upload gets 203', async () => {
    const strict = createServer(createNodeHandler({ resolver: createPublicKeyResolver() }));
    await new Promise<void>((resolve) => strict.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(strict.address() as AddressInfo).port}/cb`;
      const error = (await client
        .put('untrusted.txt', Buffer.from('x'), { callback: { url, body: 'o=${object}' } })
        .catch((e: unknown) => e)) as { status: number; code: string; message: string };
      expect(error.status).toBe(203);
      expect(error.code).toBe('CallbackFailed');
      expect(error.message).toMatch(/Error status : 4\d\d\./);
    } finally {
      await new Promise<void>((resolve) => strict.close(() => resolve()));
    }
  });

  it('with the canonical key URL, an official-style verifier (gosspublic prefix only) accepts the callbacks', async () => {
    const canonical = await startTestServer({
      callback: { keyBits: 1024, keyUrl: CANONICAL_CALLBACK_KEY_URL },
    });
    // Stands in for a hosts-file entry `gosspublic.alicdn.com → the storage server` (docs/callbacks.md).
    const direct = buildConnector({});
    const hostsOverride = new Agent({
      connect: (options, callback) => {
        const redirected = options.hostname === 'gosspublic.alicdn.com';
        direct(
          redirected ? { ...options, hostname: '127.0.0.1', port: String(canonical.port) } : options,
          callback,
        );
      },
    });
    // The resolver's `fetch` option is how a user routes the key request (here: undici's fetch
    // through the hosts override).
    const viaOverride: KeyFetch = (url, init) => undiciFetch(url, { ...init, dispatcher: hostsOverride });
    const official = createServer(
      createNodeHandler({ resolver: createPublicKeyResolver({ fetch: viaOverride }) }),
    );
    await new Promise<void>((resolve) => official.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(official.address() as AddressInfo).port}/cb`;
      const result = await ossClient(canonical).put('official.txt', Buffer.from('x'), {
        callback: { url, body: 'object=${object}' },
      });
      expect(result.data).toEqual({ Status: 'OK' });
    } finally {
      await new Promise<void>((resolve) => official.close(() => resolve()));
      await hostsOverride.close();
      await canonical.close();
    }
  });
});
