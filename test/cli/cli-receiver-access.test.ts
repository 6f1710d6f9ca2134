/**
 * `upcall receiver` on a public address, as users run it (the real CLI, spawned): without a token
 * it refuses to start; with UPCALL_RECEIVER_TOKEN the records API answers only to that token, and
 * `--allowed-host` names are served while other Host names are refused (issue 14).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendRaw } from '../helpers/receiver-callback-signer.ts';
import { CLI_PATH, spawnCli } from '../helpers/spawn-cli.ts';

const run = promisify(execFile);
const TOKEN = 'cli-test-token-abcdef0123456789';
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'upcall-cli-receiver-access-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('upcall receiver on a public address', { timeout: 120_000 }, () => {
  it('refuses --host 0.0.0.0 without a token, and says how to fix it', async () => {
    const env = { ...process.env };
    delete env.UPCALL_RECEIVER_TOKEN;
    const failed = await run(
      process.execPath,
      [CLI_PATH, 'receiver', '--port', '0', '--host', '0.0.0.0', '--data', join(root, 'open')],
      { env },
    ).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/UPCALL_RECEIVER_TOKEN/);
    expect(failed?.stderr).toMatch(/--insecure-no-token/);
  });

  it('with UPCALL_RECEIVER_TOKEN, serves the API only to the token and only for served host names', async () => {
    const cli = await spawnCli(
      [
        'receiver',
        '--port',
        '0',
        '--host',
        '0.0.0.0',
        '--data',
        join(root, 'token'),
        '--allowed-host',
        'uploads.example.com',
      ],
      { env: { UPCALL_RECEIVER_TOKEN: TOKEN }, ready: /^dashboard: (http:\/\/\S+)$/m },
    );
    try {
      expect(cli.stdout()).toMatch(/^api token: required/m);
      expect(cli.stdout()).not.toContain(TOKEN);
      const origin = new URL(cli.ready).origin;
      const bare = await sendRaw(origin, { method: 'GET', target: '/api/uploads' });
      expect(bare.status).toBe(401);
      const auth = { authorization: `Bearer ${TOKEN}` };
      expect((await sendRaw(origin, { method: 'GET', target: '/api/uploads', headers: auth })).status).toBe(
        200,
      );
      const named = { ...auth, host: 'uploads.example.com' };
      expect((await sendRaw(origin, { method: 'GET', target: '/api/uploads', headers: named })).status).toBe(
        200,
      );
      const evil = { ...auth, host: 'evil.example' };
      expect((await sendRaw(origin, { method: 'GET', target: '/api/uploads', headers: evil })).status).toBe(
        403,
      );
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });
});
