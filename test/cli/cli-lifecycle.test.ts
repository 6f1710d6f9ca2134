/**
 * `upcall server --lifecycle-interval <d> --lifecycle-day <d>` (and `UPCALL_LIFECYCLE_INTERVAL` /
 * `UPCALL_LIFECYCLE_DAY`) on the spawned CLI, through ali-oss (issue 20): a bucket's lifecycle
 * rules survive a restart on the same --data and are carried out after it; bad values stop the
 * start, naming the flag or variable. `upcall dev` takes the same flags and variables.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DEV_SESSION_FILE, type DevSession } from '../../src/cli/connection.ts';
import type { AliOssClient } from '../helpers/ali-oss-client.ts';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';
import {
  endpointClient,
  spawnedServerClient,
  spawnServer,
  stopCli,
  tempDirPerTest,
} from '../helpers/spawned-servers.ts';

const ROOT = { accessKeyId: 'lifecycle-key-id', accessKeySecret: 'lifecycle-key-secret' };
const BUCKET = 'lifecycle-bucket';
const dataDir = tempDirPerTest('upcall-cli-lifecycle-');

function startServer(args: string[], env: Record<string, string> = {}): Promise<SpawnedCli> {
  return spawnServer(['--data', dataDir(), '--bucket', BUCKET, ...args], ROOT, env);
}

const client = (cli: SpawnedCli) => spawnedServerClient(cli, BUCKET, ROOT);

async function stop(cli: SpawnedCli): Promise<void> {
  expect(await stopCli(cli)).toBe(0);
}

async function keys(oss: AliOssClient): Promise<string[]> {
  const listed = (await oss.listV2({ 'max-keys': 1000 })) as { objects?: { name: string }[] };
  return (listed.objects ?? []).map((object) => object.name).sort();
}

/** Waits until `key` is no longer listed; the milliseconds since `since`. */
async function waitUntilGone(oss: AliOssClient, key: string, since = Date.now()): Promise<number> {
  while ((await keys(oss)).includes(key)) {
    if (Date.now() - since > 20_000) throw new Error(`${key} was never expired`);
    await sleep(100);
  }
  return Date.now() - since;
}

const RULES = [
  { id: 'tmp', prefix: 'tmp/', status: 'Enabled', expiration: { days: 1 } },
  { id: 'stale uploads', prefix: '', status: 'Enabled', abortMultipartUpload: { days: 1 } },
  { id: 'off', prefix: 'disabled/', status: 'Disabled', expiration: { days: 1 } },
];

describe('upcall server lifecycle flags', () => {
  it('keeps the rules across a restart on --data and carries them out after it', async () => {
    let cli = await startServer(['--lifecycle-interval', '200ms', '--lifecycle-day', '1s']);
    try {
      const oss = client(cli);
      await oss.putBucketLifecycle(BUCKET, RULES);
      await oss.put('tmp/before.txt', Buffer.from('x'));
      await oss.put('keep.txt', Buffer.from('x'));
      await oss.put('disabled/x', Buffer.from('x'));
      await waitUntilGone(oss, 'tmp/before.txt');
    } finally {
      await stop(cli);
    }

    // The variables this time (no flags): same settings, same data dir.
    cli = await startServer([], { UPCALL_LIFECYCLE_INTERVAL: '200ms', UPCALL_LIFECYCLE_DAY: '1s' });
    try {
      const oss = client(cli);
      const got = (await oss.getBucketLifecycle(BUCKET)) as { rules: { id: string; status: string }[] };
      expect(got.rules.map((rule) => [rule.id, rule.status])).toEqual([
        ['tmp', 'Enabled'],
        ['stale uploads', 'Enabled'],
        ['off', 'Disabled'],
      ]);
      const putAt = Date.now();
      await oss.put('tmp/after.txt', Buffer.from('x'));
      const upload = (await oss.initMultipartUpload('big.bin')) as { uploadId: string };
      // Not before its lifecycle day has passed since it was stored.
      expect(await waitUntilGone(oss, 'tmp/after.txt', putAt)).toBeGreaterThanOrEqual(1000);
      for (;;) {
        const listed = (await oss.listUploads({})) as { uploads?: unknown[] };
        if ((listed.uploads ?? []).length === 0) break;
        await sleep(100);
      }
      await expect(oss.listParts('big.bin', upload.uploadId)).rejects.toMatchObject({ code: 'NoSuchUpload' });
      expect(await keys(oss)).toEqual(['disabled/x', 'keep.txt']);
    } finally {
      await stop(cli);
    }
  });

  it('the flag beats the variable', async () => {
    // A one-hour day from the variable would keep the object; the flag's 1s day expires it.
    const cli = await startServer(['--lifecycle-interval', '200ms', '--lifecycle-day', '1s'], {
      UPCALL_LIFECYCLE_DAY: '1h',
    });
    try {
      const oss = client(cli);
      await oss.putBucketLifecycle(BUCKET, RULES);
      await oss.put('tmp/x', Buffer.from('x'));
      await waitUntilGone(oss, 'tmp/x');
    } finally {
      await stop(cli);
    }
  });

  it('refuses bad values before starting, naming them', async () => {
    await expect(startServer([], { UPCALL_LIFECYCLE_INTERVAL: 'often' })).rejects.toThrow(
      /exited with 1: error: UPCALL_LIFECYCLE_INTERVAL=often: expected a duration/,
    );
    await expect(startServer(['--lifecycle-day', '0'])).rejects.toThrow(/exited with 1: .*--lifecycle-day/);
    await expect(startServer(['--lifecycle-interval', '-1s'])).rejects.toThrow(
      /exited with 1: .*--lifecycle-interval/,
    );
  });
});

describe('upcall dev lifecycle flags', () => {
  it('runs the sweep with the flag and the variable', async () => {
    const dev = await spawnCli(
      [
        'dev',
        '--data',
        dataDir(),
        '--port',
        '0',
        '--receiver-port',
        '0',
        '--bucket',
        'photos',
        '--lifecycle-day',
        '1s',
      ],
      { env: { UPCALL_LIFECYCLE_INTERVAL: '200ms' }, ready: /(Press Ctrl-C)/ },
    );
    try {
      const session = JSON.parse(await readFile(join(dataDir(), DEV_SESSION_FILE), 'utf8')) as DevSession;
      const oss = endpointClient(session.endpoint, 'photos', session);
      await oss.putBucketLifecycle('photos', RULES);
      await oss.put('tmp/x', Buffer.from('x'));
      await oss.put('keep.txt', Buffer.from('x'));
      await waitUntilGone(oss, 'tmp/x');
      expect(await keys(oss)).toEqual(['keep.txt']);
    } finally {
      await stop(dev);
    }
  });
});
