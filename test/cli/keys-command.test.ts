// `upcall keys` on a real data dir: show, PEM only, rotate (old key kept, new key differs).
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, keysCommand } from '../../src/cli/commands/keys.ts';
import { loadCallbackKey } from '../../src/server/callback/callback-key.ts';
import { runCli } from '../helpers/run-cli.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-keys-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('upcall keys', () => {
  it('says how the key comes to exist when there is none', async () => {
    const run = await runCli(keysCommand, ['keys', '--data', 'empty'], { cwd: dir });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('generated when the storage server first starts');
  });

  it('shows the dev setup key, fingerprint, key URL and a masked secret', async () => {
    const key = await loadCallbackKey(join(dir, '.upcall', 'storage'), { bits: 1024 });
    await writeFile(
      join(dir, '.upcall', 'dev-session.json'),
      JSON.stringify({
        accessKeyId: 'AKID',
        accessKeySecret: 'supersecret',
        keyUrl: 'http://127.0.0.1:1/k.pem',
      }),
    );
    const run = await runCli(keysCommand, ['keys'], { cwd: dir });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain(`SHA256 ${fingerprint(key.publicKeyPem)}`);
    expect(run.stdout).toContain('1024 bits');
    expect(run.stdout).toContain('http://127.0.0.1:1/k.pem');
    expect(run.stdout).toContain(key.publicKeyPem.trim());
    expect(run.stdout).toContain('AKID');
    expect(run.stdout).not.toContain('supersecret');
    const shown = await runCli(keysCommand, ['keys', '--show-secret'], { cwd: dir });
    expect(shown.stdout).toContain('supersecret');
    const pem = await runCli(keysCommand, ['keys', '--pem'], { cwd: dir });
    expect(pem.stdout).toBe(key.publicKeyPem);
  });

  it('finds the key of `upcall server` started without --data (.upcall/data)', async () => {
    const cwd = await mkdtemp(join(dir, 'server-default-'));
    const key = await loadCallbackKey(join(cwd, '.upcall', 'data'), { bits: 1024 });
    const pem = await runCli(keysCommand, ['keys', '--pem'], { cwd });
    expect(pem.exitCode).toBe(0);
    expect(pem.stdout).toBe(key.publicKeyPem);
  });

  it('rotates: a new key, the old one kept as .bak', async () => {
    const storage = join(dir, '.upcall', 'storage');
    const before = await loadCallbackKey(storage);
    const run = await runCli(keysCommand, ['keys', '--rotate', '--bits', '1024'], { cwd: dir });
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toContain('Restart the storage server');
    const after = await loadCallbackKey(storage);
    expect(after.publicKeyPem).not.toBe(before.publicKeyPem);
    expect(run.stdout).toContain(fingerprint(after.publicKeyPem));
    expect((await readdir(storage)).some((name) => name.endsWith('.bak'))).toBe(true);
  });
});
