/**
 * `upcall server` as users run it: the real CLI (bin/upcall.js) spawned on port 0, its printed
 * endpoint parsed, ali-oss against it; credentials from the environment, the printed defaults
 * (loopback) or a generated key kept in the data dir (any other address); a graceful stop on
 * SIGTERM / SIGINT; data that survives a restart, in --data or by default in .upcall/data, and
 * memory only when --memory says so.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
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
async function startCli(args: string[], env: Record<string, string>, cwd?: string): Promise<RunningCli> {
  const cli = await spawnCli(['server', '--port', '0', ...args], {
    env,
    ready: /^endpoint: (http:\/\/\S+)$/m,
    ...(cwd === undefined ? {} : { cwd }),
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

  it('without --data keeps its data in .upcall/data and prints the default credentials, which work', async () => {
    const cwd = await mkdtemp(join(root, 'default-data-'));
    const first = await startCli(['--bucket', 'defaults'], {}, cwd);
    const id = /^AccessKeyId: (\S+)$/m.exec(first.stdout())?.[1] ?? '';
    const secret = /^AccessKeySecret: (\S+)$/m.exec(first.stdout())?.[1] ?? '';
    try {
      expect(first.stdout()).toContain(`data: ${join(cwd, '.upcall', 'data')}`);
      expect(first.stdout()).toContain('UPCALL_ACCESS_KEY_ID');
      expect(id).toBe('upcall-access-key-id');
      const client = clientFor(first, 'defaults', id, secret);
      await client.put('x.txt', Buffer.from('kept by default'));
      expect((await client.getBucketInfo('defaults')).bucket.Name).toBe('defaults');
    } finally {
      first.child.kill('SIGTERM');
    }
    expect(await first.exited).toBe(0);

    const second = await startCli([], {}, cwd);
    try {
      const client = clientFor(second, 'defaults', id, secret);
      expect((await client.get('x.txt')).content.toString()).toBe('kept by default');
    } finally {
      second.child.kill('SIGTERM');
    }
    expect(await second.exited).toBe(0);
  });

  it('--memory keeps nothing after exit, and says so; --memory with --data is refused', async () => {
    const cwd = await mkdtemp(join(root, 'memory-'));
    const run = async (check: (client: ReturnType<typeof clientFor>) => Promise<void>): Promise<void> => {
      const cli = await startCli(['--memory', '--bucket', 'volatile'], {}, cwd);
      try {
        expect(cli.stdout()).toContain('data: (memory only, --memory: nothing is kept after exit)');
        await check(clientFor(cli, 'volatile', 'upcall-access-key-id', 'upcall-access-key-secret'));
      } finally {
        cli.child.kill('SIGTERM');
      }
      expect(await cli.exited).toBe(0);
    };
    await run(async (client) => {
      await client.put('m.txt', Buffer.from('gone at exit'));
    });
    await run(async (client) => {
      await expect(client.get('m.txt')).rejects.toMatchObject({ status: 404, code: 'NoSuchKey' });
    });
    await expect(stat(join(cwd, '.upcall'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(startCli(['--memory', '--data', join(cwd, 'd')], {}, cwd)).rejects.toThrow(
      /exited with 1: .*--memory and --data exclude each other/s,
    );
  });

  it('--host 0.0.0.0 without credentials generates a key, keeps it in the data dir and never accepts the built-in one', async () => {
    const dataDir = join(root, 'wide-data');
    const first = await startCli(['--host', '0.0.0.0', '--data', dataDir, '--bucket', 'wide'], {});
    const file = join(dataDir, 'credentials.json');
    const kept = JSON.parse(await readFile(file, 'utf8')) as { accessKeyId: string; accessKeySecret: string };
    try {
      expect(first.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(first.stdout()).toContain(`listening on: http://0.0.0.0:${first.port} (every interface)`);
      expect(first.stdout()).toContain(`AccessKeyId: ${kept.accessKeyId}`);
      expect(first.stdout()).toContain(`AccessKeySecret: (in ${file})`);
      expect(first.stdout()).not.toContain(kept.accessKeySecret);
      expect(first.stdout()).not.toContain('upcall-access-key');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const client = clientFor(first, 'wide', kept.accessKeyId, kept.accessKeySecret);
      await client.put('w.txt', Buffer.from('w'));
      expect((await client.get('w.txt')).content.toString()).toBe('w');
      const builtIn = clientFor(first, 'wide', 'upcall-access-key-id', 'upcall-access-key-secret');
      await expect(builtIn.get('w.txt')).rejects.toMatchObject({ status: 403, code: 'InvalidAccessKeyId' });
    } finally {
      first.child.kill('SIGTERM');
    }
    expect(await first.exited).toBe(0);

    // The next start keeps the same key.
    const second = await startCli(['--host', '0.0.0.0', '--data', dataDir], {});
    try {
      expect(second.stdout()).toContain(`AccessKeyId: ${kept.accessKeyId}`);
      const client = clientFor(second, 'wide', kept.accessKeyId, kept.accessKeySecret);
      expect((await client.get('w.txt')).content.toString()).toBe('w');
    } finally {
      second.child.kill('SIGTERM');
    }
    expect(await second.exited).toBe(0);
  });

  it('--host 0.0.0.0 --memory without credentials refuses to start, naming the variables', async () => {
    await expect(startCli(['--host', '0.0.0.0', '--memory'], {})).rejects.toThrow(
      /exited with 1: .*UPCALL_ACCESS_KEY_ID and UPCALL_ACCESS_KEY_SECRET/s,
    );
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
