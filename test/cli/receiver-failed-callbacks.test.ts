/**
 * The dashboard's failed-callbacks panel with the servers started apart, as docs/receiver.md says:
 * `upcall server`, and `upcall receiver --storage-endpoint … --bucket …` holding the same root key.
 * An upload whose callback fails (nothing listens at its URL) answers 203, and the standalone
 * receiver's dashboard lists it from the storage server's callback log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ossClient } from '../helpers/ali-oss-client.ts';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';
import type { TestServer } from '../helpers/start-test-server.ts';

const ENV = { UPCALL_ACCESS_KEY_ID: 'panel-key-id', UPCALL_ACCESS_KEY_SECRET: 'panel-key-secret-123' };

let server: SpawnedCli | undefined;
let receiver: SpawnedCli | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'upcall-panel-'));

/** A port nothing listens on: taken, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  server = await spawnCli(['server', '--memory', '--port', '0', '--bucket', 'photos'], {
    env: ENV,
    ready: /^endpoint: (http:\/\/\S+)$/m,
  });
  receiver = await spawnCli(
    [
      'receiver',
      '--port',
      '0',
      '--data',
      dataDir,
      '--storage-endpoint',
      server.ready,
      '--bucket',
      'photos',
      '--allow-key-url',
      `${server.ready}/callback_pub_key_v1.pem`,
    ],
    { env: ENV, ready: /^dashboard: (http:\/\/\S+)\/dashboard$/m },
  );
});
afterAll(async () => {
  for (const cli of [receiver, server]) {
    cli?.child.kill('SIGTERM');
    await cli?.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

it('lists an upload whose callback failed, with its reason', async () => {
  const client = ossClient({
    port: Number(new URL(server!.ready).port),
    region: 'oss-cn-hangzhou',
    bucket: 'photos',
    accessKeyId: ENV.UPCALL_ACCESS_KEY_ID,
    accessKeySecret: ENV.UPCALL_ACCESS_KEY_SECRET,
  } as TestServer);
  const dead = `http://127.0.0.1:${await closedPort()}/callback`;
  const failed = await client
    .put('avatars/lost.png', Buffer.from('png'), { callback: { url: dead, body: 'object=${object}' } })
    .then(
      () => undefined,
      (error: { status?: number }) => error,
    );
  expect(failed?.status).toBe(203);

  const response = await request(`${receiver!.ready}/dashboard/failed-callbacks.json`);
  expect(response.statusCode).toBe(200);
  const panel = (await response.body.json()) as {
    available: boolean;
    count?: number;
    callbacks?: { key: string; reason: string }[];
  };
  expect(panel.available).toBe(true);
  expect(panel.callbacks?.map((c) => c.key)).toContain('avatars/lost.png');
  expect(panel.callbacks?.[0]?.reason).toMatch(/can not connect|Error status/i);
});
