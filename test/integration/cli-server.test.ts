/**
 * `upcall server` as users run it: the real CLI (bin/upcall.js) spawned on port 0, its printed
 * endpoint parsed, ali-oss against it; credentials from the environment or the printed defaults;
 * a graceful stop on SIGTERM / SIGINT, and data that survives a restart on the same --data dir.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ossClient } from '../helpers/ali-oss-client.ts';
import { CLI_PATH, spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';
import type { TestServer } from '../helpers/start-test-server.ts';

interface RunningCli extends SpawnedCli {
  endpoint: string;
  port: number;
}

/** `upcall server --port 0 …`, ready once it prints its endpoint. */
async function startCli(args: string[], env: Record<string, string>): Promise<RunningCli> {
  const cli = await spawnCli(['server', '--port', '0', ...args], {
    env,
    ready: /^endpoint: (http:\/\/\S+)$/m,
  });
  return { ...cli, endpoint: cli.ready, port: Number(new URL(cli.ready).port) };
}

function clientFor(cli: RunningCli, bucket: string, accessKeyId: string, accessKeySecret: string) {
  const target = { port: cli.port, region: 'oss-cn-hangzhou', bucket, accessKeyId, accessKeySecret };
  return ossClient(target as TestServer);
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'upcall-cli-server-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// Each test spawns node + tsx; under a loaded CI machine that start alone can take seconds.
const SPAWN_TIMEOUT_MS = 120_000;

describe('upcall server', { timeout: SPAWN_TIMEOUT_MS }, () => {
  it('serves ali-oss with credentials from the environment, stops on SIGTERM and keeps its data', async () => {
    const env = { UPCALL_ACCESS_KEY_ID: 'cli-key-id', UPCALL_ACCESS_KEY_SECRET: 'cli-key-secret-123' };
    const dataDir = join(root, 'data');
    const first = await startCli(['--data', dataDir, '--bucket', 'cli-bucket', '--bucket', 'cli-other'], env);
    try {
      expect(first.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(first.stdout()).toContain('AccessKeyId: cli-key-id');
      expect(first.stdout()).not.toContain('cli-key-secret-123');
      const client = clientFor(first, 'cli-bucket', env.UPCALL_ACCESS_KEY_ID, env.UPCALL_ACCESS_KEY_SECRET);
      await client.put('docs/a.txt', Buffer.from('kept'));
      await client.put('docs/b.txt', Buffer.from('gone'));
      await client.deleteMulti(['docs/b.txt'], { quiet: true });
      const listed = await client.list({ prefix: 'docs/' });
      expect((listed.objects as { name: string }[]).map((o) => o.name)).toEqual(['docs/a.txt']);
      const buckets = await client.listBuckets();
      expect((buckets.buckets as { name: string }[]).map((b) => b.name)).toEqual(['cli-bucket', 'cli-other']);
      const wrong = clientFor(first, 'cli-bucket', env.UPCALL_ACCESS_KEY_ID, 'not-the-secret');
      await expect(wrong.list({})).rejects.toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    } finally {
      first.child.kill('SIGTERM');
    }
    expect(await first.exited).toBe(0);
    expect(first.stderr()).toContain('stopped');

    const second = await startCli(['--data', dataDir, '--bucket', 'cli-bucket'], env);
    try {
      const client = clientFor(second, 'cli-bucket', env.UPCALL_ACCESS_KEY_ID, env.UPCALL_ACCESS_KEY_SECRET);
      expect((await client.get('docs/a.txt')).content.toString()).toBe('kept');
    } finally {
      second.child.kill('SIGINT');
    }
    expect(await second.exited).toBe(0);
  });

  it('prints the default credentials it uses when none are set, and they work', async () => {
    const cli = await startCli(['--bucket', 'defaults'], {});
    try {
      const id = /^AccessKeyId: (\S+)$/m.exec(cli.stdout())?.[1];
      const secret = /^AccessKeySecret: (\S+)$/m.exec(cli.stdout())?.[1];
      expect(id).toBeDefined();
      expect(secret).toBeDefined();
      expect(cli.stdout()).toContain('UPCALL_ACCESS_KEY_ID');
      expect(cli.stdout()).toContain('memory only');
      const client = clientFor(cli, 'defaults', id!, secret!);
      await client.put('x.txt', Buffer.from('x'));
      expect((await client.getBucketInfo('defaults')).bucket.Name).toBe('defaults');
    } finally {
      cli.child.kill('SIGTERM');
    }
    expect(await cli.exited).toBe(0);
  });

  it('--host 0.0.0.0 binds every interface but prints an endpoint clients can use', async () => {
    const cli = await startCli(['--host', '0.0.0.0', '--bucket', 'wide'], {});
    try {
      expect(cli.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(cli.stdout()).toContain(`listening on: http://0.0.0.0:${cli.port} (every interface)`);
      const id = /^AccessKeyId: (\S+)$/m.exec(cli.stdout())?.[1] ?? '';
      const secret = /^AccessKeySecret: (\S+)$/m.exec(cli.stdout())?.[1] ?? '';
      const client = clientFor(cli, 'wide', id, secret);
      await client.put('w.txt', Buffer.from('w'));
      expect((await client.get('w.txt')).content.toString()).toBe('w');
    } finally {
      cli.child.kill('SIGTERM');
    }
    expect(await cli.exited).toBe(0);
  });

  it('refuses an invalid bucket name before starting', async () => {
    await expect(startCli(['--bucket', 'Bad_Bucket'], {})).rejects.toThrow(/exited with 1/);
  });

  it('upcall --version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const { stdout } = await promisify(execFile)(process.execPath, [CLI_PATH, '--version']);
    expect(stdout.trim()).toBe(pkg.version);
  });
});
