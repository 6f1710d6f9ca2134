// `upcall keys --rotate` end to end (issue 6): after rotating and restarting `upcall dev` on the
// same data dir, the storage server serves the new public key at its key URL, signs callbacks with
// it, and the receiver accepts them; the access key survives the restart.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDev, type DevHandle, type DevOptions } from '../../src/cli/commands/dev.ts';
import { fingerprint, keysCommand } from '../../src/cli/commands/keys.ts';
import { putCommand } from '../../src/cli/commands/put.ts';
import { runCli } from '../helpers/run-cli.ts';

let dir: string;
let dev: DevHandle | undefined;
let options: DevOptions;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-keys-rotation-'));
  options = {
    dataDir: join(dir, '.upcall'),
    port: 0,
    receiverPort: 0,
    host: '127.0.0.1',
    bucket: 'uploads',
    env: {},
  };
  await writeFile(join(dir, 'a.txt'), 'signed with whichever key is current');
});
afterAll(async () => {
  await dev?.close();
  await rm(dir, { recursive: true, force: true });
});

async function servedKey(keyUrl: string): Promise<string> {
  const res = await request(keyUrl);
  expect(res.statusCode).toBe(200);
  return res.body.text();
}

async function uploadWithCallback(name: string): Promise<string> {
  const put = await runCli(
    putCommand,
    ['put', 'a.txt', `oss://uploads/${name}`, '--callback-url', dev?.session.callbackUrl ?? ''],
    { cwd: dir, env: {} },
  );
  expect(put.stderr).toBe('');
  expect(put.exitCode).toBe(0);
  return put.stdout;
}

describe('upcall keys --rotate', () => {
  it('a restarted dev signs with the new key and the receiver accepts it', async () => {
    dev = await startDev(options);
    const accessKeyId = dev.session.accessKeyId;
    const before = await servedKey(dev.session.keyUrl);
    expect(await uploadWithCallback('before.txt')).toContain('callback: OK');
    await dev.close();
    dev = undefined;

    const rotated = await runCli(keysCommand, ['keys', '--rotate'], { cwd: dir, env: {} });
    expect(rotated.exitCode).toBe(0);

    dev = await startDev(options);
    expect(dev.session.accessKeyId).toBe(accessKeyId);
    const after = await servedKey(dev.session.keyUrl);
    expect(after).not.toBe(before);
    // The key the server now serves is the one `keys --rotate` reported as new.
    expect(rotated.stdout).toContain(`new: ${fingerprint(after)}`);
    expect(await uploadWithCallback('after.txt')).toContain('callback: OK');
  }, 60_000);
});
