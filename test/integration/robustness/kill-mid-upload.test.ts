/**
 * A server killed (SIGKILL) in the middle of an upload: the blob being written sits in blobs/
 * under a fresh id that no row names. After a restart on the same --data dir, the key still
 * holds the object it held before, and the sweep at open has removed the partial blob.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient } from '../../helpers/ali-oss-client.ts';
import { spawnCli, type SpawnedCli } from '../../helpers/spawn-cli.ts';
import type { TestServer } from '../../helpers/start-test-server.ts';

const ENV = { UPCALL_ACCESS_KEY_ID: 'kill-key-id', UPCALL_ACCESS_KEY_SECRET: 'kill-key-secret-123' };

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'upcall-kill-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function start(dataDir: string): Promise<{ cli: SpawnedCli; client: ReturnType<typeof ossClient> }> {
  const cli = await spawnCli(['server', '--port', '0', '--data', dataDir, '--bucket', 'photos'], {
    env: ENV,
    ready: /^endpoint: (http:\/\/\S+)$/m,
  });
  const target = {
    port: Number(new URL(cli.ready).port),
    region: 'oss-cn-hangzhou',
    bucket: 'photos',
    accessKeyId: ENV.UPCALL_ACCESS_KEY_ID,
    accessKeySecret: ENV.UPCALL_ACCESS_KEY_SECRET,
  };
  return { cli, client: ossClient(target as TestServer) };
}

async function blobFiles(dataDir: string): Promise<string[]> {
  const names: string[] = [];
  for (const sub of await readdir(join(dataDir, 'blobs'))) {
    names.push(...(await readdir(join(dataDir, 'blobs', sub))));
  }
  return names;
}

describe('a server killed mid-upload', { timeout: 120_000 }, () => {
  it('keeps the old object under the key and sweeps the partial blob at the next start', async () => {
    const dataDir = join(root, 'data');
    const first = await start(dataDir);
    try {
      await first.client.put('photo.jpg', Buffer.from('the original'));
      expect(await blobFiles(dataDir)).toHaveLength(1);
      // 256 KiB, then nothing: the upload stays open until the server dies.
      const stalled = new Readable({ read() {} });
      stalled.push(Buffer.alloc(256 * 1024, 7));
      const upload = first.client.putStream('photo.jpg', stalled).catch((error: unknown) => error);
      await expect.poll(async () => (await blobFiles(dataDir)).length, { timeout: 30_000 }).toBe(2);
      first.cli.child.kill('SIGKILL');
      await first.cli.exited;
      expect(await upload).toBeInstanceOf(Error);
      stalled.destroy();
    } finally {
      first.cli.child.kill('SIGKILL');
    }

    const second = await start(dataDir);
    try {
      const got = await second.client.get('photo.jpg');
      expect(Buffer.from(got.content as Buffer).toString()).toBe('the original');
      expect(await blobFiles(dataDir)).toHaveLength(1);
    } finally {
      second.cli.child.kill('SIGTERM');
    }
    expect(await second.cli.exited).toBe(0);
  });

  it('refuses a second server on the data dir, and restarts after a kill -9 whose pid is in use again', async () => {
    const dataDir = join(root, 'locked');
    const first = await start(dataDir);
    try {
      await first.client.put('kept.txt', Buffer.from('kept'));
      const refused = await start(dataDir).then(
        (second) => {
          second.cli.child.kill('SIGKILL');
          return undefined;
        },
        (error: unknown) => error,
      );
      expect(String(refused)).toContain(
        `data dir ${dataDir} is in use by process ${String(first.cli.child.pid)}`,
      );
    } finally {
      first.cli.child.kill('SIGKILL');
    }
    await first.cli.exited;
    // The lock file as a killed holder may leave it, naming a pid that is alive again (this test
    // process stands in for whoever got the pid): no lock is held, so the server must start.
    await writeFile(join(dataDir, 'lock'), String(process.pid));
    const third = await start(dataDir);
    try {
      const got = await third.client.get('kept.txt');
      expect(Buffer.from(got.content as Buffer).toString()).toBe('kept');
    } finally {
      third.cli.child.kill('SIGTERM');
    }
    expect(await third.cli.exited).toBe(0);
  });
});
