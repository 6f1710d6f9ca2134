/**
 * `upcall server`'s callback log flags, observed on the spawned CLI (issue 18):
 * `--no-callback-log` keeps none (the admin endpoint says so), `--callback-log-max-entries` and
 * `UPCALL_CALLBACK_LOG_MAX_AGE` bound it, and a bad value stops the start with a usage error.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OssClient } from '../../src/client/oss-client.ts';
import { createFsObjectStore } from '../../src/store/index.ts';
import { ossClient } from '../helpers/ali-oss-client.ts';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';
import type { TestServer } from '../helpers/start-test-server.ts';

const KEY_ID = 'cblog-key-id';
const KEY_SECRET = 'cblog-key-secret';
const BUCKET = 'cblog-bucket';

function startServer(args: string[], env: Record<string, string> = {}): Promise<SpawnedCli> {
  const storage = args.includes('--data') ? [] : ['--memory'];
  return spawnCli(
    ['server', '--port', '0', '--bucket', BUCKET, ...storage, '--callback-key-bits', '1024', ...args],
    {
      env: { UPCALL_ACCESS_KEY_ID: KEY_ID, UPCALL_ACCESS_KEY_SECRET: KEY_SECRET, ...env },
      ready: /^endpoint: (http:\/\/\S+)$/m,
    },
  );
}

function root(cli: SpawnedCli): OssClient {
  return new OssClient({ endpoint: cli.ready, accessKeyId: KEY_ID, accessKeySecret: KEY_SECRET });
}

async function failedUpload(cli: SpawnedCli, key: string): Promise<void> {
  const client = ossClient({
    port: Number(new URL(cli.ready).port),
    region: 'oss-cn-hangzhou',
    bucket: BUCKET,
    accessKeyId: KEY_ID,
    accessKeySecret: KEY_SECRET,
  } as TestServer);
  // Port 9 (discard) on loopback: nothing answers, the callback fails at once.
  await expect(
    client.put(key, Buffer.from(key), {
      callback: { url: 'http://127.0.0.1:9/cb', body: 'object=${object}' },
    }),
  ).rejects.toMatchObject({ status: 203 });
}

async function stop(cli: SpawnedCli): Promise<void> {
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);
}

describe('upcall server callback log flags', () => {
  it('--no-callback-log keeps no log: the endpoint answers NotImplemented', async () => {
    const cli = await startServer(['--no-callback-log']);
    try {
      await failedUpload(cli, 'a.txt');
      await expect(root(cli).listCallbacks()).rejects.toMatchObject({ code: 'NotImplemented', status: 501 });
    } finally {
      await stop(cli);
    }
  });

  it('--callback-log-max-entries bounds the log (pruned in the background), with the age from the environment', async () => {
    const cli = await startServer(['--callback-log-max-entries', '2'], { UPCALL_CALLBACK_LOG_MAX_AGE: '1h' });
    try {
      for (const key of ['1.txt', '2.txt', '3.txt', '4.txt']) await failedUpload(cli, key);
      let keys: string[] = [];
      // The prune runs in the background after the write batch commits: allow a loaded machine time.
      for (let i = 0; i < 300; i++) {
        keys = (await root(cli).listCallbacks({ failed: true })).callbacks.map((c) => c.key);
        if (keys.length <= 2) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(keys).toEqual(['4.txt', '3.txt']);
    } finally {
      await stop(cli);
    }
  });

  it('a clean stop (SIGTERM) writes the entries still waiting for their batch', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'upcall-cblog-stop-'));
    try {
      const cli = await startServer(['--data', dataDir]);
      try {
        await failedUpload(cli, 'last.txt');
      } finally {
        // At once: the entry waits up to 50 ms for its batch, and the stop must not drop it.
        await stop(cli);
      }
      const store = await createFsObjectStore({ dataDir, fsync: false });
      try {
        const { entries } = await store.callbackLog!.list({ limit: 10 });
        expect(entries.map((e) => e.key)).toEqual(['last.txt']);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a bad retention value stops the start with a usage error', async () => {
    await expect(startServer(['--callback-log-max-age', '7x'])).rejects.toThrow(/duration/);
    await expect(startServer([], { UPCALL_CALLBACK_LOG_MAX_ENTRIES: 'many' })).rejects.toThrow(
      /UPCALL_CALLBACK_LOG_MAX_ENTRIES=many/,
    );
  });
});
