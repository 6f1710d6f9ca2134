// A second `npm start` while the first still runs (issue 6, the newcomer's classic): `upcall dev`
// says which port is taken and how to pick another, exits 1, and leaves no session file behind,
// whether the storage port or the receiver port is the busy one.
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devCommand } from '../../src/cli/commands/dev.ts';
import { DEV_SESSION_FILE } from '../../src/cli/connection.ts';
import { runCli } from '../helpers/run-cli.ts';

let dir: string;
let busy: Server;
let busyPort: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upcall-dev-busy-'));
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => busy.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

async function sessionFileExists(data: string): Promise<boolean> {
  try {
    await access(join(dir, data, DEV_SESSION_FILE));
    return true;
  } catch {
    return false;
  }
}

describe('upcall dev on a busy port', () => {
  it.each([
    ['storage', ['--port', 'BUSY', '--receiver-port', '0']],
    ['receiver', ['--port', '0', '--receiver-port', 'BUSY']],
  ])('names the busy %s port and exits 1', async (which, flags) => {
    const data = `data-${which}`;
    const args = ['dev', '--data', data, ...flags.map((f) => (f === 'BUSY' ? String(busyPort) : f))];
    const run = await runCli(devCommand, args, { cwd: dir, env: {} });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`port ${busyPort} is already in use`);
    expect(run.stderr).toContain('--receiver-port');
    expect(await sessionFileExists(data)).toBe(false);
  });
});
