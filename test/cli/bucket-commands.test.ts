// rm that says what happened, mb/rb/stat/uploads and --json (issue 19), through commander against a
// real storage server on port 0; what the server holds afterwards is read back with ali-oss.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCommand } from '../../src/cli/commands/get.ts';
import { lsCommand } from '../../src/cli/commands/ls.ts';
import { mbCommand } from '../../src/cli/commands/mb.ts';
import { putCommand } from '../../src/cli/commands/put.ts';
import { rbCommand } from '../../src/cli/commands/rb.ts';
import { rmCommand } from '../../src/cli/commands/rm.ts';
import { statCommand } from '../../src/cli/commands/stat.ts';
import { uploadsCommand } from '../../src/cli/commands/uploads.ts';
import { ossClient } from '../helpers/ali-oss-client.ts';
import { startTestServer, type TestServer } from '../helpers/start-test-server.ts';
import { runCli } from '../helpers/run-cli.ts';

let dir: string;
let server: TestServer;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-cli-buckets-'));
  server = await startTestServer({ bucket: 'shelf' });
  env = {
    UPCALL_ENDPOINT: server.url,
    UPCALL_ACCESS_KEY_ID: server.accessKeyId,
    UPCALL_ACCESS_KEY_SECRET: server.accessKeySecret,
  };
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const jsonLines = (text: string): unknown[] =>
  text
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);

async function keysIn(bucket: string, prefix = ''): Promise<string[]> {
  const listed = (await ossClient(server, { bucket }).list({ prefix, 'max-keys': 1000 }, {})) as {
    objects?: Array<{ name: string }>;
  };
  return (listed.objects ?? []).map((object) => object.name).sort();
}

async function putText(bucket: string, key: string, text: string): Promise<void> {
  await ossClient(server, { bucket }).put(key, Buffer.from(text));
}

describe('upcall rm', () => {
  it('refuses a prefix without --recursive and deletes nothing', async () => {
    await putText('shelf', 'dir/a.txt', 'a');
    const run = await runCli(rmCommand, ['rm', 'oss://shelf/dir/'], { cwd: dir, env });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('oss://shelf/dir/ is a prefix; add --recursive');
    expect(await keysIn('shelf', 'dir/')).toEqual(['dir/a.txt']);
  });

  it('deletes everything under a prefix with --recursive, and nothing beside it', async () => {
    const keys = Array.from({ length: 23 }, (_, i) => `tree/${String(i).padStart(2, '0')}.txt`);
    await Promise.all(keys.map((key) => putText('shelf', key, key)));
    await putText('shelf', 'treetop.txt', 'keep');
    const run = await runCli(rmCommand, ['rm', '-r', 'oss://shelf/tree/'], { cwd: dir, env });
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual(keys.map((key) => `deleted oss://shelf/${key}`));
    expect(run.stderr).toBe('23 object(s) deleted under oss://shelf/tree/\n');
    expect(await keysIn('shelf', 'tree')).toEqual(['treetop.txt']);
  });

  it('reports a missing key (exit 1) unless --force, and deletes an existing one', async () => {
    const missing = await runCli(rmCommand, ['rm', 'oss://shelf/no-such.txt'], { cwd: dir, env });
    expect(missing.exitCode).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toBe('error: no such object: oss://shelf/no-such.txt (nothing deleted)\n');
    const forced = await runCli(rmCommand, ['rm', '-f', 'oss://shelf/no-such.txt'], { cwd: dir, env });
    expect({ code: forced.exitCode, stderr: forced.stderr }).toEqual({ code: 0, stderr: '' });

    await putText('shelf', 'one.txt', '1');
    const one = await runCli(rmCommand, ['rm', 'oss://shelf/one.txt', '--json'], { cwd: dir, env });
    expect(one.exitCode).toBe(0);
    expect(jsonLines(one.stdout)).toEqual([{ url: 'oss://shelf/one.txt', bucket: 'shelf', key: 'one.txt' }]);
    expect(await keysIn('shelf', 'one.txt')).toEqual([]);
  });

  it('deletes more than one DeleteMultipleObjects batch (1000 keys) under a prefix', async () => {
    const client = ossClient(server, { bucket: 'shelf' });
    const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((key) => client.put(key, Buffer.from('x'))));
    }
    const run = await runCli(rmCommand, ['rm', '-r', 'oss://shelf/many/', '--json'], { cwd: dir, env });
    expect(run.exitCode).toBe(0);
    expect(jsonLines(run.stdout)).toHaveLength(1005);
    expect(await keysIn('shelf', 'many/')).toEqual([]);
  }, 60_000);
});

describe('upcall mb, rb, stat, uploads', () => {
  it('makes a bucket, refuses to remove it while it holds objects, removes it with --force', async () => {
    const made = await runCli(mbCommand, ['mb', 'oss://crate', '--json'], { cwd: dir, env });
    expect(made.exitCode).toBe(0);
    expect(jsonLines(made.stdout)).toEqual([{ url: 'oss://crate', bucket: 'crate', created: true }]);
    const again = await runCli(mbCommand, ['mb', 'oss://crate'], { cwd: dir, env });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toBe('error: bucket oss://crate already exists (add -p to accept that)\n');
    const accepted = await runCli(mbCommand, ['mb', '-p', 'oss://crate'], { cwd: dir, env });
    expect({ code: accepted.exitCode, out: accepted.stdout }).toEqual({
      code: 0,
      out: 'bucket oss://crate already exists\n',
    });

    await putText('crate', 'a.txt', 'a');
    const upload = await ossClient(server, { bucket: 'crate' }).initMultipartUpload('half.bin');
    const refused = await runCli(rbCommand, ['rb', 'oss://crate'], { cwd: dir, env });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('BucketNotEmpty (HTTP 409)');
    expect(refused.stderr).toContain('upcall rb --force');

    const removed = await runCli(rbCommand, ['rb', 'oss://crate', '--force', '--json'], { cwd: dir, env });
    expect(removed.exitCode).toBe(0);
    expect(jsonLines(removed.stdout)).toEqual([
      { url: 'oss://crate', bucket: 'crate', deletedObjects: 1, abortedUploads: 1 },
    ]);
    expect(upload.uploadId).not.toBe('');
    const buckets = await runCli(lsCommand, ['ls', '--json'], { cwd: dir, env });
    expect(jsonLines(buckets.stdout)).not.toContainEqual(expect.objectContaining({ bucket: 'crate' }));
  });

  it('stats an object from HeadObject, and names a missing one', async () => {
    await ossClient(server, { bucket: 'shelf' }).put('stat/cat.txt', Buffer.from('meow'), {
      headers: { 'Content-Type': 'text/plain' },
      meta: { owner: 'ada' },
    });
    const run = await runCli(statCommand, ['stat', 'oss://shelf/stat/cat.txt', '--json'], { cwd: dir, env });
    expect(run.exitCode).toBe(0);
    expect(jsonLines(run.stdout)).toEqual([
      expect.objectContaining({
        url: 'oss://shelf/stat/cat.txt',
        size: 4,
        contentType: 'text/plain',
        etag: '"4A4BE40C96AC6314E91D93F38043A634"',
        metadata: { owner: 'ada' },
      }),
    ]);
    const human = await runCli(statCommand, ['stat', 'oss://shelf/stat/cat.txt'], { cwd: dir, env });
    expect(human.stdout).toMatch(/^Size: +4 B \(4 bytes\)$/m);
    const missing = await runCli(statCommand, ['stat', 'oss://shelf/stat/dog.txt'], { cwd: dir, env });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('NoSuchKey (HTTP 404)');
  });

  it('lists incomplete multipart uploads and aborts them', async () => {
    const client = ossClient(server, { bucket: 'shelf' });
    const first = await client.initMultipartUpload('video/a.mp4');
    const second = await client.initMultipartUpload('video/b.mp4');
    await client.initMultipartUpload('other/c.mp4');
    const listed = await runCli(uploadsCommand, ['uploads', 'oss://shelf/video/', '--json'], {
      cwd: dir,
      env,
    });
    expect(listed.exitCode).toBe(0);
    expect(jsonLines(listed.stdout)).toEqual([
      expect.objectContaining({ key: 'video/a.mp4', uploadId: first.uploadId }),
      expect.objectContaining({ key: 'video/b.mp4', uploadId: second.uploadId }),
    ]);
    const aborted = await runCli(uploadsCommand, ['uploads', 'oss://shelf/video/', '--abort'], {
      cwd: dir,
      env,
    });
    expect(aborted.exitCode).toBe(0);
    expect(aborted.stdout).toContain(`aborted oss://shelf/video/a.mp4 (upload ${first.uploadId})`);
    expect(aborted.stderr).toBe('2 incomplete upload(s) aborted under oss://shelf/video/\n');
    const left = (await client.listUploads({}, {})) as { uploads: Array<{ name: string }> };
    expect(left.uploads.map((upload) => upload.name)).toEqual(['other/c.mp4']);
  });
});

describe('--json and get', () => {
  it('put, get and ls print JSON lines', async () => {
    await writeFile(join(dir, 'j.bin'), randomBytes(1234));
    const put = await runCli(putCommand, ['put', 'j.bin', 'oss://shelf/json/j.bin', '--json'], {
      cwd: dir,
      env,
    });
    expect(put.exitCode).toBe(0);
    const [uploaded] = jsonLines(put.stdout) as Array<Record<string, unknown>>;
    expect(uploaded).toMatchObject({
      url: 'oss://shelf/json/j.bin',
      key: 'json/j.bin',
      size: 1234,
      multipart: false,
    });
    expect(uploaded?.['etag']).toMatch(/^"[0-9A-F]{32}"$/);

    const ls = await runCli(lsCommand, ['ls', 'oss://shelf/json/', '--json'], { cwd: dir, env });
    expect(jsonLines(ls.stdout)).toEqual([
      expect.objectContaining({
        type: 'object',
        url: 'oss://shelf/json/j.bin',
        key: 'json/j.bin',
        size: 1234,
      }),
    ]);
    const get = await runCli(getCommand, ['get', 'oss://shelf/json/j.bin', 'j-copy.bin', '--json'], {
      cwd: dir,
      env,
    });
    expect(get.exitCode).toBe(0);
    expect(jsonLines(get.stdout)).toEqual([
      expect.objectContaining({ key: 'json/j.bin', file: join(dir, 'j-copy.bin'), size: 1234 }),
    ]);
  });

  it('refuses to overwrite a local file without --force, and keeps it intact', async () => {
    await putText('shelf', 'get/new.txt', 'from the server');
    await writeFile(join(dir, 'mine.txt'), 'precious');
    const refused = await runCli(getCommand, ['get', 'oss://shelf/get/new.txt', 'mine.txt'], {
      cwd: dir,
      env,
    });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('mine.txt already exists');
    expect(refused.stderr).toContain('--force');
    expect(await readFile(join(dir, 'mine.txt'), 'utf8')).toBe('precious');

    const failed = await runCli(getCommand, ['get', 'oss://shelf/get/none.txt', 'mine.txt', '--force'], {
      cwd: dir,
      env,
    });
    expect(failed.exitCode).toBe(1);
    expect(await readFile(join(dir, 'mine.txt'), 'utf8')).toBe('precious');

    const forced = await runCli(getCommand, ['get', 'oss://shelf/get/new.txt', 'mine.txt', '--force'], {
      cwd: dir,
      env,
    });
    expect(forced.exitCode).toBe(0);
    expect(await readFile(join(dir, 'mine.txt'), 'utf8')).toBe('from the server');
  });
});
