// put/get/ls/rm/presign against a real storage server on port 0, through commander, with the
// client's V1 signing verified by the server for every request.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCommand } from '../../src/cli/commands/get.ts';
import { lsCommand } from '../../src/cli/commands/ls.ts';
import { presignCommand } from '../../src/cli/commands/presign.ts';
import { putCommand } from '../../src/cli/commands/put.ts';
import { rmCommand } from '../../src/cli/commands/rm.ts';
import { mintTemporaryCredentials } from '../../src/client/temporary-credentials.ts';
import { createServer, type UpcallServer } from '../../src/server/create-server.ts';
import { runCli } from '../helpers/run-cli.ts';

let dir: string;
let server: UpcallServer;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-cli-'));
  server = await createServer({
    port: 0,
    credentials: { 'cli-test-key': 'cli-test-secret' },
    bucketsToCreate: ['photos'],
    logger: pino({ level: 'silent' }),
  });
  env = {
    UPCALL_ENDPOINT: server.url,
    UPCALL_ACCESS_KEY_ID: 'cli-test-key',
    UPCALL_ACCESS_KEY_SECRET: 'cli-test-secret',
  };
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('object commands', () => {
  it('puts a file, gets it back byte for byte, and removes it', async () => {
    const content = randomBytes(3000);
    await writeFile(join(dir, 'cat one.bin'), content);
    const put = await runCli(putCommand, ['put', 'cat one.bin', 'oss://photos/2026/'], { cwd: dir, env });
    expect(put.stderr).toBe('');
    expect(put.exitCode).toBe(0);
    expect(put.stdout).toContain('oss://photos/2026/cat one.bin');

    const get = await runCli(getCommand, ['get', 'oss://photos/2026/cat one.bin', 'copy.bin'], {
      cwd: dir,
      env,
    });
    expect(get.exitCode).toBe(0);
    expect(sha(await readFile(join(dir, 'copy.bin')))).toBe(sha(content));
    const stdout = await runCli(getCommand, ['get', 'oss://photos/2026/cat one.bin', '-'], { cwd: dir, env });
    expect(sha(stdout.raw)).toBe(sha(content));

    const removed = await runCli(rmCommand, ['rm', 'oss://photos/2026/cat one.bin'], { cwd: dir, env });
    expect(removed.exitCode).toBe(0);
    const gone = await runCli(getCommand, ['get', 'oss://photos/2026/cat one.bin', 'gone.bin'], {
      cwd: dir,
      env,
    });
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toContain('NoSuchKey (HTTP 404)');
    await expect(readFile(join(dir, 'gone.bin'))).rejects.toThrow();
  });

  it('uploads large files as multipart with parallel parts', async () => {
    const content = randomBytes(350 * 1024 + 17);
    await writeFile(join(dir, 'big.bin'), content);
    const put = await runCli(
      putCommand,
      [
        'put',
        'big.bin',
        'oss://photos/big.bin',
        '--multipart-threshold',
        '100KB',
        '--part-size',
        '100KB',
        '--parallel',
        '3',
      ],
      { cwd: dir, env },
    );
    expect(put.stderr).toBe('');
    expect(put.stdout).toContain('multipart in 4 parts');
    expect(put.stdout).toMatch(/ETag "[0-9A-F]{32}-4"/);
    const get = await runCli(getCommand, ['get', 'oss://photos/big.bin', 'big-copy.bin'], { cwd: dir, env });
    expect(get.exitCode).toBe(0);
    expect(sha(await readFile(join(dir, 'big-copy.bin')))).toBe(sha(content));
  });

  it('presigns GET and PUT URLs that the server accepts', async () => {
    const put = await runCli(
      presignCommand,
      ['presign', 'oss://photos/presigned.txt', '--method', 'PUT', '--content-type', 'text/plain'],
      { cwd: dir, env },
    );
    expect(put.exitCode).toBe(0);
    const uploaded = await request(put.stdout.trim(), {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'hello presigned',
    });
    await uploaded.body.dump();
    expect(uploaded.statusCode).toBe(200);
    const get = await runCli(presignCommand, ['presign', 'oss://photos/presigned.txt'], { cwd: dir, env });
    const fetched = await request(get.stdout.trim());
    expect(await fetched.body.text()).toBe('hello presigned');
  });

  it('lists one level by default and everything with -r', async () => {
    await writeFile(join(dir, 'dog.bin'), 'woof');
    await runCli(putCommand, ['put', 'dog.bin', 'oss://photos/2027/dog.bin'], { cwd: dir, env });
    const ls = await runCli(lsCommand, ['ls', 'oss://photos/2027/'], { cwd: dir, env });
    expect(ls.stdout).toBe('oss://photos/2027/dog.bin\n');
    const deep = await runCli(lsCommand, ['ls', '-r', '-l', 'oss://photos'], { cwd: dir, env });
    expect(deep.stdout).toContain('oss://photos/2027/dog.bin');
    expect(deep.stdout).toMatch(/\d+ object\(s\)/);

    const buckets = await runCli(lsCommand, ['ls'], { cwd: dir, env });
    expect(buckets.stdout).toContain('oss://photos');
  });

  it('explains a wrong secret and a missing server', async () => {
    await writeFile(join(dir, 'a.txt'), 'a');
    const wrong = await runCli(putCommand, ['put', 'a.txt', 'oss://photos/a.txt'], {
      cwd: dir,
      env: { ...env, UPCALL_ACCESS_KEY_SECRET: 'nope' },
    });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toContain('SignatureDoesNotMatch (HTTP 403)');
    expect(wrong.stderr).toContain('hint:');
    const none = await runCli(lsCommand, ['ls'], { cwd: dir, env: {} });
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain('npm start');
  });

  it('uploads with temporary credentials, within their policy only', async () => {
    const temporary = mintTemporaryCredentials({
      rootAccessKeyId: 'cli-test-key',
      rootAccessKeySecret: 'cli-test-secret',
      policy: { bucket: 'photos', prefix: 'tmp/', actions: ['PutObject'], expiresInSeconds: 600 },
      now: new Date(),
    });
    const stsEnv = {
      UPCALL_ENDPOINT: server.url,
      UPCALL_ACCESS_KEY_ID: temporary.AccessKeyId,
      UPCALL_ACCESS_KEY_SECRET: temporary.AccessKeySecret,
      UPCALL_SECURITY_TOKEN: temporary.SecurityToken,
    };
    await writeFile(join(dir, 't.txt'), 't');
    const inside = await runCli(putCommand, ['put', 't.txt', 'oss://photos/tmp/t.txt'], {
      cwd: dir,
      env: stsEnv,
    });
    expect(inside.stderr).toBe('');
    expect(inside.exitCode).toBe(0);
    const outside = await runCli(putCommand, ['put', 't.txt', 'oss://photos/t.txt'], {
      cwd: dir,
      env: stsEnv,
    });
    expect(outside.exitCode).toBe(1);
    expect(outside.stderr).toContain('AccessDenied (HTTP 403)');
  });

  it('rejects callback flags without a callback URL and bad oss:// addresses', async () => {
    const stray = await runCli(putCommand, ['put', 'a.txt', 'oss://photos/a.txt', '--var', 'a=1'], {
      cwd: dir,
      env,
    });
    expect(stray.exitCode).toBe(1);
    expect(stray.stderr).toContain('--var needs --callback-url');
    const bad = await runCli(putCommand, ['put', 'a.txt', 'photos/a.txt'], { cwd: dir, env });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('expected oss://bucket/key');
  });

  it('says plainly when the file to put is missing or a directory, and uploads nothing', async () => {
    const missing = await runCli(putCommand, ['put', 'nope.txt', 'oss://photos/nope.txt'], { cwd: dir, env });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/^error: .*no such file.*nope\.txt/m);
    const folder = await runCli(putCommand, ['put', '.', 'oss://photos/folder'], { cwd: dir, env });
    expect(folder.exitCode).toBe(1);
    expect(folder.stderr).toBe(`error: . is not a file (upload a directory's files one by one)\n`);
    const listed = await runCli(lsCommand, ['ls', 'oss://photos/folder'], { cwd: dir, env });
    expect(listed.stdout).not.toContain('folder');
  });
});
