/**
 * `upcall keys` (spawned) tells which callback key a server signs with: the `--callback-key-file`
 * key (shown, never rotated) or, in gateway mode, the one in PostgreSQL (neither shown nor
 * rotated); the data-dir key is left alone in both cases.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/cli/commands/keys.ts';
import {
  loadCallbackKey,
  CALLBACK_KEY_FILE,
  type CallbackKey,
} from '../../src/server/callback/callback-key.ts';
import { CLEARED_ENV, CLI_PATH } from '../helpers/spawn-cli.ts';

let dir: string;
let dataKey: CallbackKey;
let fileKey: CallbackKey;
let keyFilePath: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function keys(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [...CLEARED_ENV, 'UPCALL_DATABASE_URL', 'UPCALL_DATA']) delete childEnv[name];
  Object.assign(childEnv, env);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_PATH, 'keys', ...args],
      { cwd: dir, env: childEnv },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-keys-in-use-'));
  dataKey = await loadCallbackKey(join(dir, 'data'), { bits: 1024 });
  fileKey = await loadCallbackKey(join(dir, 'shared'), { bits: 1024 });
  keyFilePath = join(dir, 'shared', CALLBACK_KEY_FILE);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('upcall keys with --callback-key-file', () => {
  it('shows the key of that file, not the data-dir key', async () => {
    const run = await keys(['--data', 'data', '--callback-key-file', keyFilePath]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`SHA256 ${fingerprint(fileKey.publicKeyPem)}`);
    expect(run.stdout).toContain(keyFilePath);
    expect(run.stdout).not.toContain(fingerprint(dataKey.publicKeyPem));
    const pem = await keys(['--data', 'data', '--pem'], { UPCALL_CALLBACK_KEY_FILE: keyFilePath });
    expect(pem.stdout).toBe(fileKey.publicKeyPem);
  });

  it('refuses to rotate, and changes neither key', async () => {
    const before = await readFile(keyFilePath, 'utf8');
    const run = await keys(['--data', 'data', '--rotate'], { UPCALL_CALLBACK_KEY_FILE: keyFilePath });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('does not rotate a key file it does not own');
    expect(await readFile(keyFilePath, 'utf8')).toBe(before);
    expect((await readdir(join(dir, 'data'))).filter((name) => name.endsWith('.bak'))).toEqual([]);
  });
});

describe('upcall keys in gateway mode', () => {
  it('says the key is in PostgreSQL and neither shows nor rotates the data-dir key', async () => {
    const env = { UPCALL_DATABASE_URL: 'postgres://127.0.0.1:1/none' };
    const show = await keys(['--data', 'data'], env);
    expect(show.code).toBe(1);
    expect(show.stderr).toContain('UPCALL_DATABASE_URL is set');
    expect(show.stderr).toContain('kept in PostgreSQL');
    expect(show.stdout).not.toContain(fingerprint(dataKey.publicKeyPem));
    const rotate = await keys([
      '--data',
      'data',
      '--rotate',
      '--database-url',
      'postgres://127.0.0.1:1/none',
    ]);
    expect(rotate.code).toBe(1);
    expect(rotate.stderr).toContain('--database-url is set');
    expect((await readdir(join(dir, 'data'))).filter((name) => name.endsWith('.bak'))).toEqual([]);
  });
});
