// `node bin/upcall.js dev` as a real process, the way `npm start` runs it: it prints the banner,
// a second `upcall put` process finds the session and uploads with a callback, and SIGTERM shuts
// both servers down cleanly (exit 0, session file removed).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_SESSION_FILE, type DevSession } from '../../src/cli/connection.ts';
import { spawnCli, type SpawnedCli } from '../helpers/spawn-cli.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'upcall.js');
const env = { ...process.env, UPCALL_ACCESS_KEY_ID: undefined, UPCALL_ACCESS_KEY_SECRET: undefined };

let dir: string;
let dev: SpawnedCli;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return once(child, 'close').then(([code]) => ({ code: code as number | null, stdout: out, stderr: err }));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-dev-process-'));
  dev = await spawnCli(['dev', '--port', '0', '--receiver-port', '0', '--bucket', 'photos'], {
    cwd: dir,
    ready: /(Press Ctrl-C)/,
  });
}, 60_000);

afterAll(async () => {
  if (dev.child.exitCode === null) {
    dev.child.kill('SIGKILL');
    await once(dev.child, 'close');
  }
  await rm(dir, { recursive: true, force: true });
});

describe('node bin/upcall.js dev', () => {
  it('prints the banner and uploads from a second process with a callback', async () => {
    const session = JSON.parse(await readFile(join(dir, '.upcall', DEV_SESSION_FILE), 'utf8')) as DevSession;
    expect(dev.stdout()).toContain(session.endpoint);
    expect(dev.stdout()).toContain(session.callbackUrl);
    expect(dev.stdout()).toContain(session.accessKeySecret);
    await writeFile(join(dir, 'note.txt'), 'from another terminal');
    const put = await run([
      'put',
      'note.txt',
      'oss://photos/',
      '--callback-url',
      session.callbackUrl,
      '--var',
      'device=tty',
    ]);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    expect(put.stdout).toContain('callback: OK');
    expect(put.stdout).toContain('"object": "note.txt"');
  }, 60_000);

  it('stops cleanly on SIGTERM', async () => {
    dev.child.kill('SIGTERM');
    const [code] = (await once(dev.child, 'close')) as [number | null];
    expect(code).toBe(0);
    expect(dev.stderr()).toContain('stopped.');
    await expect(readFile(join(dir, '.upcall', DEV_SESSION_FILE))).rejects.toThrow();
  }, 30_000);
});
