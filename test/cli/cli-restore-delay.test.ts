/**
 * `upcall server --restore-delay <duration>` / `UPCALL_RESTORE_DELAY`: how long a RestoreObject
 * of an archived object takes on the spawned CLI, observed through ali-oss (issue 20). The flag
 * wins over the variable; a bad value stops the start, naming it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ossClient } from '../helpers/ali-oss-client.ts';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';
import type { TestServer } from '../helpers/start-test-server.ts';

const KEY_ID = 'restore-key-id';
const KEY_SECRET = 'restore-key-secret';
const BUCKET = 'restore-bucket';

function startServer(args: string[], env: Record<string, string> = {}): Promise<SpawnedCli> {
  return spawnCli(['server', '--memory', '--port', '0', '--bucket', BUCKET, ...args], {
    env: { UPCALL_ACCESS_KEY_ID: KEY_ID, UPCALL_ACCESS_KEY_SECRET: KEY_SECRET, ...env },
    ready: /^endpoint: (http:\/\/\S+)$/m,
  });
}

function client(cli: SpawnedCli) {
  return ossClient({
    port: Number(new URL(cli.ready).port),
    region: 'oss-cn-hangzhou',
    bucket: BUCKET,
    accessKeyId: KEY_ID,
    accessKeySecret: KEY_SECRET,
  } as TestServer);
}

/** Milliseconds from RestoreObject until HEAD reports the restore complete. */
async function restoreTime(cli: SpawnedCli): Promise<number> {
  const oss = client(cli);
  await oss.put('cold.bin', Buffer.from('cold'), { headers: { 'x-oss-storage-class': 'Archive' } });
  const started = Date.now();
  await oss.restore('cold.bin');
  for (;;) {
    const { res } = (await oss.head('cold.bin')) as { res: { headers: Record<string, string> } };
    if (res.headers['x-oss-restore']?.startsWith('ongoing-request="false"')) return Date.now() - started;
    expect(res.headers['x-oss-restore']).toBe('ongoing-request="true"');
    if (Date.now() - started > 20_000) throw new Error('the restore did not complete');
    await sleep(50);
  }
}

async function stop(cli: SpawnedCli): Promise<void> {
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);
}

describe('upcall server --restore-delay', () => {
  it('the flag sets how long a restore takes, and beats the variable', async () => {
    const cli = await startServer(['--restore-delay', '700ms'], { UPCALL_RESTORE_DELAY: '1h' });
    try {
      const took = await restoreTime(cli);
      expect(took).toBeGreaterThanOrEqual(650);
      expect(took).toBeLessThan(15_000);
    } finally {
      await stop(cli);
    }
  });

  it('UPCALL_RESTORE_DELAY sets it when the flag is absent', async () => {
    const cli = await startServer([], { UPCALL_RESTORE_DELAY: '0' });
    try {
      expect(await restoreTime(cli)).toBeLessThan(15_000);
    } finally {
      await stop(cli);
    }
  });

  it('refuses a bad value before starting, naming it', async () => {
    await expect(startServer([], { UPCALL_RESTORE_DELAY: 'soon' })).rejects.toThrow(
      /exited with 1: error: UPCALL_RESTORE_DELAY=soon: expected a duration/,
    );
    await expect(startServer(['--restore-delay', '-1s'])).rejects.toThrow(/exited with 1: .*--restore-delay/);
  });
});
