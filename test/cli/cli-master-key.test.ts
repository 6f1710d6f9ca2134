/**
 * `UPCALL_MASTER_KEY` on the spawned `upcall server` (issue 20): the server-side encryption master
 * key from the environment instead of `<data>/master.key`, so several gateways (or a restored
 * backup) can share it. Objects stored encrypted under it read back after a restart with the same
 * key; a key that is not base64 of 32 bytes stops the start, naming the variable.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ossClient, type AliOssClient } from '../helpers/ali-oss-client.ts';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';
import type { TestServer } from '../helpers/start-test-server.ts';

const KEY_ID = 'sse-key-id';
const KEY_SECRET = 'sse-key-secret';
const BUCKET = 'sse-bucket';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'upcall-cli-master-key-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function startServer(env: Record<string, string>): Promise<SpawnedCli> {
  return spawnCli(['server', '--data', dataDir, '--port', '0', '--bucket', BUCKET], {
    env: { UPCALL_ACCESS_KEY_ID: KEY_ID, UPCALL_ACCESS_KEY_SECRET: KEY_SECRET, ...env },
    ready: /^endpoint: (http:\/\/\S+)$/m,
  });
}

function client(cli: SpawnedCli): AliOssClient {
  return ossClient({
    port: Number(new URL(cli.ready).port),
    region: 'oss-cn-hangzhou',
    bucket: BUCKET,
    accessKeyId: KEY_ID,
    accessKeySecret: KEY_SECRET,
  } as TestServer);
}

async function stop(cli: SpawnedCli): Promise<void> {
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);
}

describe('UPCALL_MASTER_KEY', () => {
  it('encrypts with the key from the environment, keeps none in the data dir, and reads back after a restart', async () => {
    const masterKey = randomBytes(32).toString('base64');
    const data = randomBytes(50_000);
    let cli = await startServer({ UPCALL_MASTER_KEY: masterKey });
    try {
      const put = (await client(cli).put('secret.bin', data, {
        headers: { 'x-oss-server-side-encryption': 'AES256' },
      })) as { res: { headers: Record<string, string> } };
      expect(put.res.headers['x-oss-server-side-encryption']).toBe('AES256');
    } finally {
      await stop(cli);
    }
    expect(await readdir(dataDir)).not.toContain('master.key');
    cli = await startServer({ UPCALL_MASTER_KEY: masterKey });
    try {
      const got = (await client(cli).get('secret.bin')) as { content: Buffer };
      expect(got.content.equals(data)).toBe(true);
    } finally {
      await stop(cli);
    }
  });

  it('refuses a key that is not base64 of 32 bytes before starting, without printing it', async () => {
    const short = randomBytes(16).toString('base64');
    const refused = startServer({ UPCALL_MASTER_KEY: short });
    await expect(refused).rejects.toThrow(
      /exited with 1: error: UPCALL_MASTER_KEY: The server-side encryption master key must be 32 bytes/,
    );
    await expect(refused).rejects.not.toThrow(short);
  });
});
