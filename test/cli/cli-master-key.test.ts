/**
 * `UPCALL_MASTER_KEY` on the spawned `upcall server` (issue 20): the server-side encryption master
 * key from the environment instead of `<data>/master.key`, so several gateways (or a restored
 * backup) can share it. Objects stored encrypted under it read back after a restart with the same
 * key; a key that is not base64 of 32 bytes stops the start, naming the variable.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { SpawnedCli } from '../helpers/spawn-cli.ts';
import { spawnedServerClient, spawnServer, stopCli, tempDirPerTest } from '../helpers/spawned-servers.ts';

const ROOT = { accessKeyId: 'sse-key-id', accessKeySecret: 'sse-key-secret' };
const BUCKET = 'sse-bucket';
const dataDir = tempDirPerTest('upcall-cli-master-key-');

function startServer(env: Record<string, string>): Promise<SpawnedCli> {
  return spawnServer(['--data', dataDir(), '--bucket', BUCKET], ROOT, env);
}

const client = (cli: SpawnedCli) => spawnedServerClient(cli, BUCKET, ROOT);

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
      expect(await stopCli(cli)).toBe(0);
    }
    expect(await readdir(dataDir())).not.toContain('master.key');
    cli = await startServer({ UPCALL_MASTER_KEY: masterKey });
    try {
      const got = (await client(cli).get('secret.bin')) as { content: Buffer };
      expect(got.content.equals(data)).toBe(true);
    } finally {
      expect(await stopCli(cli)).toBe(0);
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
