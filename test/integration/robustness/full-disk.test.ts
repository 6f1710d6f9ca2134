/**
 * A full disk, for real (issue 14, item 7): `upcall server` keeps its data dir on a 16 MiB tmpfs,
 * uploads stop at `--min-free-space` with 507 InsufficientStorage (also when a body crosses the
 * reserve mid-way), and once another program has taken the last byte, DELETE,
 * DeleteMultipleObjects, AbortMultipartUpload and CompleteMultipartUpload still work and the
 * space comes back through the API.
 *
 * Mounting a tmpfs needs root (CAP_SYS_ADMIN); where that is refused, those tests are skipped and
 * say so, since a simulated statfs would not show what SQLite does at 0 bytes free. The flag's own
 * tests run everywhere: a reserve larger than any disk refuses every upload.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { statfs, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ossClient, type AliOssClient } from '../../helpers/ali-oss-client.ts';
import { spawnCli, type SpawnedCli } from '../../helpers/spawn-cli.ts';
import type { TestServer } from '../../helpers/start-test-server.ts';

const ENV = { UPCALL_ACCESS_KEY_ID: 'full-key-id', UPCALL_ACCESS_KEY_SECRET: 'full-key-secret-123' };
const MiB = 1024 * 1024;

const mountPoint = mkdtempSync(join(tmpdir(), 'upcall-full-'));
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint]).status === 0;
if (!mounted) console.warn('full-disk tests skipped: cannot mount a tmpfs here (needs root)');

afterAll(() => {
  if (mounted) spawnSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

async function freeBytes(): Promise<number> {
  const stats = await statfs(mountPoint);
  return stats.bavail * stats.bsize;
}

async function start(
  dataDir: string,
  minFreeSpace: string,
): Promise<{ cli: SpawnedCli; client: AliOssClient }> {
  const cli = await spawnCli(
    ['server', '--port', '0', '--data', dataDir, '--bucket', 'photos', '--min-free-space', minFreeSpace],
    { env: ENV, ready: /^endpoint: (http:\/\/\S+)$/m },
  );
  const target = {
    port: Number(new URL(cli.ready).port),
    region: 'oss-cn-hangzhou',
    bucket: 'photos',
    accessKeyId: ENV.UPCALL_ACCESS_KEY_ID,
    accessKeySecret: ENV.UPCALL_ACCESS_KEY_SECRET,
  };
  return { cli, client: ossClient(target as TestServer) };
}

/** The OSS error code and status a call failed with, or 'ok'. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    const { status, code } = error as { status?: number; code?: string };
    return `${String(status)} ${String(code)}`;
  }
}

const FULL = '507 InsufficientStorage';

describe.skipIf(!mounted)('a full disk', { timeout: 60_000 }, () => {
  it('stops uploads at the reserve with 507, and deletes, aborts and completes still free space at 0 bytes', async () => {
    const dataDir = join(mountPoint, 'reserve');
    const { cli, client } = await start(dataDir, '3MiB');
    const filler = join(mountPoint, 'filler');
    try {
      // Uploads to finish and to abort once the disk is full.
      const finishing = await client.initMultipartUpload('finished.bin');
      const parts = [
        await client.uploadPart('finished.bin', finishing.uploadId, 1, Buffer.alloc(100 * 1024, 1)),
        await client.uploadPart('finished.bin', finishing.uploadId, 2, Buffer.from('tail')),
      ].map((part: { etag: string }, i) => ({ number: i + 1, etag: part.etag }));
      const aborted = await client.initMultipartUpload('aborted.bin');
      await client.uploadPart('aborted.bin', aborted.uploadId, 1, Buffer.alloc(200 * 1024, 2));

      // Fill up to the reserve: every refusal is the 507, never a 500.
      const stored: string[] = [];
      let refused = '';
      while (refused === '' && stored.length < 20) {
        const key = `fill-${stored.length}.bin`;
        const result = await outcome(client.put(key, Buffer.alloc(MiB, 3)));
        if (result === 'ok') stored.push(key);
        else refused = result;
      }
      expect(refused).toBe(FULL);
      expect(stored.length).toBeGreaterThan(3);
      expect(await freeBytes()).toBeGreaterThan(2 * MiB);

      // A body that crosses the reserve mid-way stops there, and nothing of it stays.
      expect(await outcome(client.put('crossing.bin', Buffer.alloc(6 * MiB, 4)))).toBe(FULL);
      expect(await outcome(client.head('crossing.bin'))).toBe('404 NoSuchKey');

      // Another program takes the last byte.
      spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k']);
      expect(await freeBytes()).toBeLessThan(64 * 1024);
      expect(await outcome(client.put('small.txt', Buffer.from('x')))).toBe(FULL);
      expect(await outcome(client.initMultipartUpload('more.bin'))).toBe(FULL);
      expect(await outcome(client.copy('copy.bin', stored[0]))).toBe(FULL);
      expect(await outcome(client.append('log.txt', Buffer.from('line')))).toBe(FULL);

      // What frees or finishes works at 0 bytes free.
      expect(await outcome(client.completeMultipartUpload('finished.bin', finishing.uploadId, parts))).toBe(
        'ok',
      );
      expect(await outcome(client.delete(stored[0]))).toBe('ok');
      expect(await outcome(client.deleteMulti(stored.slice(1, 3)))).toBe('ok');
      expect(await outcome(client.abortMultipartUpload('aborted.bin', aborted.uploadId))).toBe('ok');
      const finished = await client.get('finished.bin');
      expect((finished.content as Buffer).length).toBe(100 * 1024 + 4);

      // ...and the space comes back through the API alone.
      await expect.poll(freeBytes, { timeout: 10_000 }).toBeGreaterThan(2 * MiB);
      await unlink(filler);
      expect(await outcome(client.put('small.txt', Buffer.from('x')))).toBe('ok');
    } finally {
      cli.child.kill('SIGKILL');
      await cli.exited;
      await unlink(filler).catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('answers 507, not 500, when the disk fills under it with the reserve off', async () => {
    const dataDir = join(mountPoint, 'no-reserve');
    const { cli, client } = await start(dataDir, '0');
    try {
      await client.put('kept.txt', Buffer.from('kept'));
      const results: string[] = [];
      for (let i = 0; i < 20 && !results.includes(FULL); i++)
        results.push(await outcome(client.put(`fill-${i}.bin`, Buffer.alloc(MiB, 5))));
      expect(results).toContain(FULL);
      expect(results.filter((r) => r !== 'ok' && r !== FULL)).toEqual([]);
      const kept = await client.get('kept.txt');
      expect((kept.content as Buffer).toString()).toBe('kept');
    } finally {
      cli.child.kill('SIGKILL');
      await cli.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('--min-free-space', { timeout: 60_000 }, () => {
  it('refuses uploads with 507 when the reserve is more than the disk has, from UPCALL_MIN_FREE_SPACE', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'upcall-reserve-'));
    const cli = await spawnCli(['server', '--port', '0', '--data', dataDir, '--bucket', 'photos'], {
      env: { ...ENV, UPCALL_MIN_FREE_SPACE: '1000TiB' },
      ready: /^endpoint: (http:\/\/\S+)$/m,
    });
    try {
      const client = ossClient({
        port: Number(new URL(cli.ready).port),
        region: 'oss-cn-hangzhou',
        bucket: 'photos',
        accessKeyId: ENV.UPCALL_ACCESS_KEY_ID,
        accessKeySecret: ENV.UPCALL_ACCESS_KEY_SECRET,
      } as TestServer);
      expect(await outcome(client.put('a.txt', Buffer.from('a')))).toBe(FULL);
      expect(await outcome(client.initMultipartUpload('b.bin'))).toBe(FULL);
      expect(await outcome(client.delete('a.txt'))).toBe('ok');
    } finally {
      cli.child.kill('SIGKILL');
      await cli.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('rejects a size it cannot read, naming the flag', async () => {
    await expect(
      spawnCli(['server', '--port', '0', '--min-free-space', 'lots'], {
        env: ENV,
        ready: /^endpoint: (\S+)$/m,
      }),
    ).rejects.toThrow(/--min-free-space.*expected a size such as 512MiB/);
  });
});
